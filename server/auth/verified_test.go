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
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

func TestVerifiedPasswords(t *testing.T) {
	clock := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	v := &verifiedPasswords{now: func() time.Time { return clock }}
	hash := []byte(testcreds.Hash(t, "s3cret"))
	if v.matches("alice", hash, "s3cret") {
		t.Fatal("a password never verified matched")
	}
	v.remember("alice", hash, "s3cret")
	checks := []struct {
		name, user, password string
		hash                 []byte
		want                 bool
	}{
		{"the verified password", "alice", "s3cret", hash, true},
		{"another password", "alice", "s3cret2", hash, false},
		{"a prefix of it", "alice", "s3cre", hash, false},
		{"another user with the same password and hash", "bob", "s3cret", hash, false},
		{"the password after its hash changed", "alice", "s3cret", []byte(testcreds.Hash(t, "s3cret")), false},
	}
	for _, c := range checks {
		if got := v.matches(c.user, c.hash, c.password); got != c.want {
			t.Errorf("%s: matches = %v, want %v", c.name, got, c.want)
		}
	}
	clock = clock.Add(verifiedTTL - time.Second)
	if !v.matches("alice", hash, "s3cret") {
		t.Fatal("the verified password missed before verifiedTTL")
	}
	clock = clock.Add(time.Second)
	if v.matches("alice", hash, "s3cret") {
		t.Fatal("the verified password still matched after verifiedTTL: bcrypt must check it again")
	}
}

func TestVerifiedPasswordsBounded(t *testing.T) {
	clock := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	v := &verifiedPasswords{now: func() time.Time { return clock }}
	hash := []byte("$2a$04$not-compared-here")
	for i := range maxVerified {
		v.remember(fmt.Sprint("user", i), hash, "pw")
	}
	v.remember("one-too-many", hash, "pw")
	if v.matches("one-too-many", hash, "pw") || len(v.entries) != maxVerified {
		t.Fatalf("the cache grew past maxVerified: %d entries", len(v.entries))
	}
	clock = clock.Add(verifiedTTL)
	v.remember("one-too-many", hash, "pw")
	if !v.matches("one-too-many", hash, "pw") || len(v.entries) != 1 {
		t.Fatalf("expired entries were not dropped to make room: %d entries", len(v.entries))
	}
}

// TestRememberedPasswordsFollowTheConfig: a password that logged in moments ago stops working the moment the
// configuration changes it, removes the user or disables them, and a wrong password after a right one still
// counts towards a ban.
func TestRememberedPasswordsFollowTheConfig(t *testing.T) {
	a, _, _ := fixture(t)
	from := netip.MustParseAddr("192.0.2.10")
	login := func(user, pw string) error {
		_, err := a.Password(serverconfig.ProtocolSFTP, user, pw, from)
		return err
	}
	for range 2 {
		if err := login("alice", "alice-pw"); err != nil {
			t.Fatalf("alice's password: %v", err)
		}
	}
	update := func(users ...serverconfig.User) {
		t.Helper()
		if err := a.Users.Update(&serverconfig.Config{AllowedSourceRanges: []string{"192.0.2.0/24"}, Users: users}); err != nil {
			t.Fatal(err)
		}
	}

	update(serverconfig.User{Username: "alice", PasswordHash: testcreds.Hash(t, "new-pw")})
	if err := login("alice", "alice-pw"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("the replaced password: %v, want ErrInvalidCredentials", err)
	}
	if err := login("alice", "new-pw"); err != nil {
		t.Fatalf("the new password: %v", err)
	}

	update(serverconfig.User{Username: "alice", PasswordHash: testcreds.Hash(t, "new-pw"), Disabled: true})
	if err := login("alice", "new-pw"); !errors.Is(err, ErrDisabled) {
		t.Fatalf("a disabled user's remembered password: %v, want ErrDisabled", err)
	}
	update()
	if err := login("alice", "new-pw"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("a removed user's remembered password: %v, want ErrInvalidCredentials", err)
	}

	a, _, _ = fixture(t) // bans after 3 failures
	for range 2 {
		if err := login("alice", "alice-pw"); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		_ = login("alice", "guess")
	}
	if !a.Defender.IsBanned(from) {
		t.Fatal("wrong passwords after a remembered right one did not ban the address")
	}
}
