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
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/testsupport/testcreds"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/metrics"
)

// fixture builds an authenticator over a small user table:
// alice (password, key), bob (key only, sftp only), carol (disabled), dave (ftp only, one network).
func fixture(t *testing.T) (*Authenticator, ssh.PublicKey, ssh.PublicKey) {
	t.Helper()
	aliceKey, bobKey := testcreds.Signer(t).PublicKey(), testcreds.Signer(t).PublicKey()
	cfg := &serverconfig.Config{
		AllowedSourceRanges: []string{"192.0.2.0/24", "2001:db8::/32"},
		Users: []serverconfig.User{
			{Username: "alice", PasswordHash: testcreds.Hash(t, "alice-pw"), AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(aliceKey))}},
			{Username: "bob", AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(bobKey))}, Protocols: []serverconfig.Protocol{serverconfig.ProtocolSFTP}},
			{Username: "carol", PasswordHash: testcreds.Hash(t, "carol-pw"), Disabled: true},
			{Username: "dave", PasswordHash: testcreds.Hash(t, "dave-pw"), Protocols: []serverconfig.Protocol{serverconfig.ProtocolFTP}, AllowedSourceRanges: []string{"192.0.2.128/25"}},
		},
	}
	users := NewUsers()
	if err := users.Update(cfg); err != nil {
		t.Fatal(err)
	}
	return &Authenticator{Users: users, Defender: NewDefender(3, time.Hour)}, aliceKey, bobKey
}

func TestPasswordLogins(t *testing.T) {
	a, _, _ := fixture(t)
	inside := netip.MustParseAddr("192.0.2.200")
	cases := []struct {
		name     string
		protocol serverconfig.Protocol
		user, pw string
		from     netip.Addr
		want     error
	}{
		{"right password", serverconfig.ProtocolSFTP, "alice", "alice-pw", inside, nil},
		{"right password over FTP", serverconfig.ProtocolFTP, "alice", "alice-pw", inside, nil},
		{"IPv6 client inside the server's networks", serverconfig.ProtocolFTP, "alice", "alice-pw", netip.MustParseAddr("2001:db8::1"), nil},
		{"wrong password", serverconfig.ProtocolSFTP, "alice", "nope", inside, ErrInvalidCredentials},
		{"unknown user", serverconfig.ProtocolSFTP, "mallory", "alice-pw", inside, ErrInvalidCredentials},
		{"user without a password", serverconfig.ProtocolSFTP, "bob", "", inside, ErrInvalidCredentials},
		{"disabled user", serverconfig.ProtocolSFTP, "carol", "carol-pw", inside, ErrDisabled},
		{"protocol the user may not use", serverconfig.ProtocolSFTP, "dave", "dave-pw", inside, ErrProtocolNotAllowed},
		{"outside the user's networks", serverconfig.ProtocolFTP, "dave", "dave-pw", netip.MustParseAddr("192.0.2.1"), ErrSourceNotAllowed},
		{"outside the server's networks", serverconfig.ProtocolSFTP, "alice", "alice-pw", netip.MustParseAddr("198.51.100.1"), ErrSourceNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a.Defender = NewDefender(0, time.Hour) // this table is about the verdicts, not bans
			acct, err := a.Password(tc.protocol, tc.user, tc.pw, tc.from)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Password(%s, %s) error = %v, want %v", tc.user, tc.pw, err, tc.want)
			}
			if tc.want == nil && (acct == nil || acct.Username != tc.user) {
				t.Fatalf("Password returned account %v, want %s", acct, tc.user)
			}
		})
	}
}

func TestPublicKeyLogins(t *testing.T) {
	a, aliceKey, bobKey := fixture(t)
	from := netip.MustParseAddr("192.0.2.10")
	if acct, err := a.PublicKey("alice", aliceKey, from); err != nil || acct.Username != "alice" {
		t.Fatalf("alice's own key refused: %v", err)
	}
	if _, err := a.PublicKey("bob", bobKey, from); err != nil {
		t.Fatalf("bob's own key refused: %v", err)
	}
	if _, err := a.PublicKey("alice", bobKey, from); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("bob's key logged in as alice: %v", err)
	}
	if _, err := a.PublicKey("nobody", aliceKey, from); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("unknown user with a key: %v", err)
	}
	// Offering keys is not guessing: many rejected keys must not ban the client.
	for range 10 {
		_, _ = a.PublicKey("alice", testcreds.Signer(t).PublicKey(), from)
	}
	if a.Defender.IsBanned(from) {
		t.Fatal("rejected public keys banned the client")
	}
}

func TestWrongPasswordsBanTheAddress(t *testing.T) {
	a, _, _ := fixture(t)
	attacker := netip.MustParseAddr("192.0.2.66")
	for range 3 {
		if _, err := a.Password(serverconfig.ProtocolFTP, "alice", "guess", attacker); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if _, err := a.Password(serverconfig.ProtocolFTP, "alice", "alice-pw", attacker); !errors.Is(err, ErrBanned) {
		t.Fatalf("the right password from a banned address: %v, want ErrBanned", err)
	}
	if err := a.Admit(attacker); !errors.Is(err, ErrBanned) {
		t.Fatalf("Admit of a banned address: %v", err)
	}
	if _, err := a.Password(serverconfig.ProtocolFTP, "alice", "alice-pw", netip.MustParseAddr("192.0.2.67")); err != nil {
		t.Fatalf("another address was affected by the ban: %v", err)
	}
}

func TestUpdateSwapsUsersAtomically(t *testing.T) {
	a, _, _ := fixture(t)
	from := netip.MustParseAddr("192.0.2.1")
	next := &serverconfig.Config{Users: []serverconfig.User{{Username: "erin", PasswordHash: testcreds.Hash(t, "erin-pw")}}}
	if err := a.Users.Update(next); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Password(serverconfig.ProtocolSFTP, "erin", "erin-pw", from); err != nil {
		t.Fatalf("a user added by Update cannot log in: %v", err)
	}
	if _, err := a.Password(serverconfig.ProtocolSFTP, "alice", "alice-pw", from); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("a user removed by Update can still log in: %v", err)
	}
	// The server's networks went with the old config: anyone may connect now.
	if err := a.Admit(netip.MustParseAddr("198.51.100.1")); err != nil {
		t.Fatalf("old allowedSourceRanges still applied: %v", err)
	}

	bad := &serverconfig.Config{Users: []serverconfig.User{{Username: "frank", AuthorizedKeys: []string{"ssh-ed25519 not-base64"}}}}
	if err := a.Users.Update(bad); err == nil {
		t.Fatal("Update accepted an unparsable key")
	}
	if _, ok := a.Users.Lookup("erin"); !ok {
		t.Fatal("a failed Update replaced the table")
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(3, 2)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	r1, err := l.Acquire(a)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := l.Acquire(netip.MustParseAddr("::ffff:192.0.2.1")) // the same client, IPv4-mapped
	if _, err := l.Acquire(a); !errors.Is(err, ErrTooManyFromAddress) {
		t.Fatalf("third connection from one address: %v, want ErrTooManyFromAddress", err)
	}
	r3, _ := l.Acquire(b)
	if _, err := l.Acquire(netip.MustParseAddr("192.0.2.3")); !errors.Is(err, ErrTooManyConnections) {
		t.Fatalf("fourth connection: %v, want ErrTooManyConnections", err)
	}
	r1()
	r1() // a second release must not free another slot
	if got := l.Open(); got != 2 {
		t.Fatalf("Open() = %d after one release, want 2", got)
	}
	if _, err := l.Acquire(a); err != nil {
		t.Fatalf("slot not freed by release: %v", err)
	}
	l.SetLimits(0, 0)
	for range 10 {
		if _, err := l.Acquire(b); err != nil {
			t.Fatalf("limits of 0 refused a connection: %v", err)
		}
	}
	r2()
	r3()
}

func TestSessionsClosedWhenRevoked(t *testing.T) {
	a, aliceKey, _ := fixture(t)
	var logs bytes.Buffer
	m := metrics.New(func() int { return 0 })
	s := NewSessions(a.Users, slog.New(slog.NewTextHandler(&logs, nil)), m)
	alice, _ := a.Users.Lookup("alice")
	dave, _ := a.Users.Lookup("dave")
	remote := netip.MustParseAddrPort("192.0.2.200:40000")
	closed := map[string]int{}
	logins := []struct {
		name  string
		login *Login
	}{
		{"alice-password", PasswordLogin(alice, serverconfig.ProtocolSFTP, remote)},
		{"alice-key", KeyLogin(alice, aliceKey, remote)},
		{"dave", PasswordLogin(dave, serverconfig.ProtocolFTP, remote)},
	}
	removes := make([]func(), 0, len(logins))
	for _, l := range logins {
		var remove func()
		remove, err := s.Add(l.login, func() { closed[l.name]++; remove() })
		if err != nil {
			t.Fatalf("Add(%s): %v", l.name, err)
		}
		removes = append(removes, remove)
	}
	if n := s.CloseRevoked(); n != 0 {
		t.Fatalf("closed %d sessions of unchanged users", n)
	}

	// alice's password changes: her password session ends, her key session does not. dave is removed.
	cfg := &serverconfig.Config{
		AllowedSourceRanges: []string{"192.0.2.0/24", "2001:db8::/32"},
		Users: []serverconfig.User{{Username: "alice", PasswordHash: testcreds.Hash(t, "rotated"),
			AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(aliceKey))}}},
	}
	if err := a.Users.Update(cfg); err != nil {
		t.Fatal(err)
	}
	if n := s.CloseRevoked(); n != 2 {
		t.Fatalf("CloseRevoked closed %d sessions, want 2", n)
	}
	if closed["alice-password"] != 1 || closed["dave"] != 1 || closed["alice-key"] != 0 {
		t.Fatalf("closed %v, want alice's password session and dave's", closed)
	}
	if n := s.CloseRevoked(); n != 0 || s.Count() != 1 {
		t.Fatalf("a second CloseRevoked closed %d sessions and left %d; want 0 and 1", n, s.Count())
	}
	for _, want := range []string{
		`msg="session ended: the new configuration revokes its access" username=alice protocol=sftp remote=192.0.2.200:40000 method=password reason=password_changed detail="the password was replaced"`,
		`username=dave protocol=ftp remote=192.0.2.200:40000 method=password reason=user_removed`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
	if got := counter(t, m, "pier_sessions_revoked_total", "sftp", "password_changed"); got != 1 {
		t.Errorf("pier_sessions_revoked_total{sftp,password_changed} = %v, want 1", got)
	}

	// A login checked against the old table and registered after the reload is refused at once.
	if _, err := s.Add(PasswordLogin(dave, serverconfig.ProtocolFTP, remote), func() { t.Error("closeFn of a refused session called") }); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Add of a removed user's login: %v, want ErrRevoked", err)
	}
	if s.Count() != 1 {
		t.Fatalf("%d sessions registered, want 1", s.Count())
	}
	if got := counter(t, m, "pier_sessions_revoked_total", "ftp", "user_removed"); got != 2 {
		t.Errorf("pier_sessions_revoked_total{ftp,user_removed} = %v, want 2", got)
	}
	for _, remove := range removes {
		remove() // removing an already removed session is harmless
	}
	if s.Count() != 0 {
		t.Fatalf("%d sessions still registered", s.Count())
	}
}

// counter reads one sample of a counter with labels protocol and reason from m's registry.
func counter(t *testing.T, m *metrics.Metrics, name, protocol, reason string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, metric := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["protocol"] == protocol && labels["reason"] == reason {
				return metric.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestTwoFactorUsersCannotUseFTP(t *testing.T) {
	a, _, _ := fixture(t)
	cfg := &serverconfig.Config{Users: []serverconfig.User{{Username: "alice", PasswordHash: testcreds.Hash(t, "pw"), RequireAllAuthMethods: true}}}
	if err := a.Users.Update(cfg); err != nil {
		t.Fatal(err)
	}
	from := netip.MustParseAddr("192.0.2.1")
	if _, err := a.Password(serverconfig.ProtocolFTP, "alice", "pw", from); !errors.Is(err, ErrProtocolNotAllowed) {
		t.Fatalf("FTP login of a two-factor user: %v, want ErrProtocolNotAllowed", err)
	}
	if _, err := a.Password(serverconfig.ProtocolSFTP, "alice", "pw", from); err != nil {
		t.Fatalf("the password factor over SFTP: %v", err)
	}
}
