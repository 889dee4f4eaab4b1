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

package auth

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// FuzzPasswordLogin feeds arbitrary usernames, passwords and addresses to the authenticator: it must never panic
// and must accept only alice's exact password from inside her network.
func FuzzPasswordLogin(f *testing.F) {
	users := NewUsers()
	err := users.Update(&serverconfig.Config{Users: []serverconfig.User{
		{Username: "alice", PasswordHash: testcreds.Hash(f, "s3cret"), AllowedSourceRanges: []string{"192.0.2.0/24"}},
		{Username: "bob", AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(testcreds.Signer(f).PublicKey()))}},
	}})
	if err != nil {
		f.Fatal(err)
	}
	a := &Authenticator{Users: users, Defender: NewDefender(0, time.Minute)}
	for _, seed := range []struct {
		user, password string
		addr           []byte
	}{
		{"alice", "s3cret", []byte{192, 0, 2, 1}},
		{"alice", "s3cret\x00", []byte{192, 0, 2, 1}},
		{"alice", "S3cret", []byte{192, 0, 2, 1}},
		{"alice", "s3cret", []byte{198, 51, 100, 1}},
		{"bob", "", []byte{192, 0, 2, 1}},
		{"", "", nil},
		{"alice\x00", "s3cret", []byte{192, 0, 2, 1}},
	} {
		f.Add(seed.user, seed.password, seed.addr)
	}
	f.Fuzz(func(t *testing.T, user, password string, raw []byte) {
		if len(password) > 72 {
			password = password[:72] // bcrypt refuses longer input; the front ends never pass more than a line
		}
		addr, ok := netip.AddrFromSlice(raw)
		if !ok {
			addr = netip.MustParseAddr("192.0.2.1")
		}
		acct, err := a.Password(serverconfig.ProtocolSFTP, user, password, addr)
		want := user == "alice" && password == "s3cret" && netip.MustParsePrefix("192.0.2.0/24").Contains(addr.Unmap())
		if (err == nil) != want {
			t.Fatalf("Password(%q, %q, %s) = %v, %v; want success %v", user, password, addr, acct, err, want)
		}
	})
}
