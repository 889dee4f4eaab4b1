// Copyright 2026 The pier authors.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package serverconfig

import (
	"errors"
	"slices"
	"testing"
)

func TestBcryptCost(t *testing.T) {
	withCost := func(cost string) string { return testHash[:4] + cost + testHash[6:] }
	for _, tc := range []struct {
		name, hash string
		wantCost   int
		wantForm   bool // the error is ErrNotBcryptHash
		wantErr    bool
	}{
		{name: "$2a$ cost 10", hash: testHash, wantCost: 10},
		{name: "$2b$", hash: "$2b$" + testHash[4:], wantCost: 10},
		{name: "$2y$", hash: "$2y$" + testHash[4:], wantCost: 10},
		{name: "cost 4", hash: withCost("04"), wantCost: 4},
		// Above MaxBcryptCost but readable: the caller decides.
		{name: "cost 31", hash: withCost("31"), wantCost: 31},
		{name: "cost 3", hash: withCost("03"), wantErr: true},
		{name: "cost 99", hash: withCost("99"), wantErr: true},
		{name: "empty", hash: "", wantForm: true, wantErr: true},
		{name: "plaintext", hash: testPassword, wantForm: true, wantErr: true},
		{name: "unknown version", hash: "$2x$" + testHash[4:], wantForm: true, wantErr: true},
		{name: "truncated", hash: testHash[:59], wantForm: true, wantErr: true},
		{name: "one character too many", hash: testHash + "a", wantForm: true, wantErr: true},
		{name: "outside bcrypt's alphabet", hash: testHash[:30] + "+" + testHash[31:], wantForm: true, wantErr: true},
		{name: "trailing newline", hash: testHash + "\n", wantForm: true, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cost, err := BcryptCost([]byte(tc.hash))
			if (err != nil) != tc.wantErr || errors.Is(err, ErrNotBcryptHash) != tc.wantForm {
				t.Fatalf("BcryptCost(%q) = %d, %v; want error %v (not the form of a hash: %v)",
					tc.hash, cost, err, tc.wantErr, tc.wantForm)
			}
			if err == nil && cost != tc.wantCost {
				t.Errorf("BcryptCost(%q) = %d, want %d", tc.hash, cost, tc.wantCost)
			}
		})
	}
}

func TestKeyTypeAccepted(t *testing.T) {
	for _, keyType := range []string{"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
		"ecdsa-sha2-nistp521", "ssh-rsa", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"} {
		if !KeyTypeAccepted(keyType) || !slices.Contains(AcceptedKeyTypes(), keyType) {
			t.Errorf("%s is not accepted", keyType)
		}
	}
	for _, keyType := range []string{"ssh-dss", "ssh-ed25519-cert-v01@openssh.com", "rsa-sha2-256", "", "SSH-ED25519"} {
		if KeyTypeAccepted(keyType) || slices.Contains(AcceptedKeyTypes(), keyType) {
			t.Errorf("%q is accepted", keyType)
		}
	}
	// A caller changing the returned list must not change what the server accepts.
	AcceptedKeyTypes()[0] = "ssh-dss"
	if KeyTypeAccepted("ssh-dss") {
		t.Error("AcceptedKeyTypes returned the package's own slice")
	}
}
