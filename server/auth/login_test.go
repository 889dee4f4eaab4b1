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
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// The kinds of open session TestCheck judges: how each logged in.
const (
	pwSFTP   = "password over SFTP"
	keySFTP  = "key over SFTP"
	bothSFTP = "key and password over SFTP"
	ftpPlain = "password over FTP, TLS not enforced"
	ftpTLS   = "password over FTPS, TLS enforced"
)

var sessionKinds = []string{pwSFTP, keySFTP, bothSFTP, ftpPlain, ftpTLS}

// ends says which kinds of session a change ends, and why; kinds left out stay open.
type ends map[string]Reason

func endsAll(r Reason) ends {
	e := ends{}
	for _, k := range sessionKinds {
		e[k] = r
	}
	return e
}

func endsOnly(r Reason, kinds ...string) ends {
	e := ends{}
	for _, k := range kinds {
		e[k] = r
	}
	return e
}

// TestCheck decides, for each kind of configuration change and each way a session logged in, whether the open
// session ends and why. The session is alice's, from 192.0.2.10.
func TestCheck(t *testing.T) {
	key, otherKey := testcreds.Signer(t).PublicKey(), testcreds.Signer(t).PublicKey()
	keyLine := string(ssh.MarshalAuthorizedKey(key))
	otherLine := string(ssh.MarshalAuthorizedKey(otherKey))
	hash := testcreds.Hash(t, "alice-pw")
	rehashed := testcreds.Hash(t, "alice-pw") // the same password, another salt
	replaced := testcreds.Hash(t, "another-pw")
	perms := func(p ...serverconfig.Permission) []serverconfig.Permission { return p }
	protocols := func(p ...serverconfig.Protocol) []serverconfig.Protocol { return p }

	cases := []struct {
		name   string
		before func(alice *serverconfig.User) // alice at login, if not the default
		change func(c *serverconfig.Config)   // alice is Users[0]
		want   ends
	}{
		{name: "nothing changed", change: func(*serverconfig.Config) {}, want: ends{}},
		{name: "another user added", want: ends{}, change: func(c *serverconfig.Config) {
			c.Users = append(c.Users, serverconfig.User{Username: "carol", PasswordHash: hash})
		}},
		{name: "user removed", want: endsAll(ReasonUserRemoved), change: func(c *serverconfig.Config) { c.Users = c.Users[1:] }},
		{name: "user disabled", want: endsAll(ReasonUserDisabled), change: func(c *serverconfig.Config) { c.Users[0].Disabled = true }},

		{name: "sftp taken from the user's protocols", want: endsOnly(ReasonProtocol, pwSFTP, keySFTP, bothSFTP),
			change: func(c *serverconfig.Config) { c.Users[0].Protocols = protocols(serverconfig.ProtocolFTP) }},
		{name: "ftp taken from the user's protocols", want: endsOnly(ReasonProtocol, ftpPlain, ftpTLS),
			change: func(c *serverconfig.Config) { c.Users[0].Protocols = protocols(serverconfig.ProtocolSFTP) }},
		{name: "both protocols listed explicitly", want: ends{},
			change: func(c *serverconfig.Config) {
				c.Users[0].Protocols = protocols(serverconfig.ProtocolSFTP, serverconfig.ProtocolFTP)
			}},

		{name: "user's ranges exclude the client", want: endsAll(ReasonSource),
			change: func(c *serverconfig.Config) { c.Users[0].AllowedSourceRanges = []string{"198.51.100.0/24"} }},
		{name: "user's ranges still admit the client", want: ends{},
			change: func(c *serverconfig.Config) {
				c.Users[0].AllowedSourceRanges = []string{"198.51.100.0/24", "192.0.2.10/32"}
			}},
		{name: "server's ranges exclude the client", want: endsAll(ReasonSource),
			change: func(c *serverconfig.Config) { c.AllowedSourceRanges = []string{"2001:db8::/32"} }},
		{name: "server's ranges still admit the client", want: ends{},
			change: func(c *serverconfig.Config) { c.AllowedSourceRanges = []string{"192.0.2.0/24"} }},

		{name: "both factors now required", want: endsOnly(ReasonTwoFactor, pwSFTP, keySFTP, ftpPlain, ftpTLS),
			change: func(c *serverconfig.Config) { c.Users[0].RequireAllAuthMethods = true }},
		{name: "both factors no longer required", want: ends{},
			before: func(u *serverconfig.User) { u.RequireAllAuthMethods = true },
			change: func(c *serverconfig.Config) { c.Users[0].RequireAllAuthMethods = false }},

		{name: "password replaced", want: endsOnly(ReasonPasswordChanged, pwSFTP, bothSFTP, ftpPlain, ftpTLS),
			change: func(c *serverconfig.Config) { c.Users[0].PasswordHash = replaced }},
		{name: "password removed", want: endsOnly(ReasonPasswordChanged, pwSFTP, bothSFTP, ftpPlain, ftpTLS),
			change: func(c *serverconfig.Config) { c.Users[0].PasswordHash = "" }},
		// The server sees only hashes: a new hash may be a new password, so it ends password sessions.
		{name: "password hashed again", want: endsOnly(ReasonPasswordChanged, pwSFTP, bothSFTP, ftpPlain, ftpTLS),
			change: func(c *serverconfig.Config) { c.Users[0].PasswordHash = rehashed }},
		{name: "key added", want: ends{},
			change: func(c *serverconfig.Config) { c.Users[0].AuthorizedKeys = append(c.Users[0].AuthorizedKeys, otherLine) }},
		{name: "key used replaced by another", want: endsOnly(ReasonKeyRemoved, keySFTP, bothSFTP),
			change: func(c *serverconfig.Config) { c.Users[0].AuthorizedKeys = []string{otherLine} }},
		{name: "key used kept with a new comment", want: ends{},
			change: func(c *serverconfig.Config) {
				c.Users[0].AuthorizedKeys = []string{strings.TrimSpace(keyLine) + " alice@laptop"}
			}},

		{name: "home directory changed", want: endsAll(ReasonHomeChanged),
			change: func(c *serverconfig.Config) { c.Users[0].HomeDirectory = "/elsewhere" }},
		{name: "home directory written differently", want: ends{},
			change: func(c *serverconfig.Config) { c.Users[0].HomeDirectory = "/alice/" }},

		{name: "reduced to ReadOnly", want: endsAll(ReasonPermissionsReduced),
			change: func(c *serverconfig.Config) { c.Users[0].Permissions = perms(serverconfig.PresetReadOnly) }},
		{name: "overwrite taken away", want: endsAll(ReasonPermissionsReduced),
			change: func(c *serverconfig.Config) {
				c.Users[0].Permissions = perms(serverconfig.PermissionList, serverconfig.PermissionDownload, serverconfig.PermissionUpload,
					serverconfig.PermissionDelete, serverconfig.PermissionRename, serverconfig.PermissionMkdir)
			}},
		{name: "ReadWrite spelt out", want: ends{},
			change: func(c *serverconfig.Config) {
				c.Users[0].Permissions = perms(serverconfig.PermissionList, serverconfig.PermissionDownload, serverconfig.PermissionUpload,
					serverconfig.PermissionOverwrite, serverconfig.PermissionDelete, serverconfig.PermissionRename, serverconfig.PermissionMkdir)
			}},
		{name: "permissions only added", want: ends{},
			before: func(u *serverconfig.User) { u.Permissions = perms(serverconfig.PresetUploadOnly) },
			change: func(c *serverconfig.Config) {
				c.Users[0].Permissions = perms(serverconfig.PresetUploadOnly, serverconfig.PermissionDownload)
			}},
		{name: "permissions swapped", want: endsAll(ReasonPermissionsReduced),
			before: func(u *serverconfig.User) { u.Permissions = perms(serverconfig.PresetUploadOnly) },
			change: func(c *serverconfig.Config) { c.Users[0].Permissions = perms(serverconfig.PresetReadOnly) }},

		{name: "server stops offering passwords", want: endsOnly(ReasonAuthMethodNotOffered, pwSFTP),
			change: func(c *serverconfig.Config) {
				c.SFTP.AuthMethods = []serverconfig.AuthMethod{serverconfig.AuthMethodPublicKey}
			}},
		{name: "server stops offering keys", want: endsOnly(ReasonAuthMethodNotOffered, keySFTP),
			change: func(c *serverconfig.Config) {
				c.SFTP.AuthMethods = []serverconfig.AuthMethod{serverconfig.AuthMethodPassword}
			}},
		// Turning SFTP off needs a restart; until then the running listener keeps its sessions.
		{name: "sftp section removed", want: ends{}, change: func(c *serverconfig.Config) { c.SFTP = nil }},
		{name: "server now requires FTP TLS", want: endsOnly(ReasonTLSRequired, ftpPlain),
			change: func(c *serverconfig.Config) { c.FTP.TLS.Mode = serverconfig.TLSRequired }},
		{name: "server disables FTP TLS", want: ends{},
			change: func(c *serverconfig.Config) { c.FTP.TLS.Mode = serverconfig.TLSDisabled }},

		{name: "several restrictions at once: the first is named", want: endsAll(ReasonUserDisabled),
			change: func(c *serverconfig.Config) {
				c.Users[0].Disabled, c.Users[0].HomeDirectory = true, "/elsewhere"
				c.Users[0].Permissions = perms(serverconfig.PresetReadOnly)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alice := serverconfig.User{Username: "alice", PasswordHash: hash, AuthorizedKeys: []string{keyLine}, HomeDirectory: "/alice"}
			if tc.before != nil {
				tc.before(&alice)
			}
			base := &serverconfig.Config{
				SFTP:  &serverconfig.SFTP{AuthMethods: []serverconfig.AuthMethod{serverconfig.AuthMethodPassword, serverconfig.AuthMethodPublicKey}},
				FTP:   &serverconfig.FTP{TLS: serverconfig.TLS{Mode: serverconfig.TLSOptional}},
				Users: []serverconfig.User{alice, {Username: "bob", PasswordHash: hash}},
			}
			users := NewUsers()
			if err := users.Update(base); err != nil {
				t.Fatal(err)
			}
			acct, _ := users.Lookup("alice")
			remote := netip.MustParseAddrPort("192.0.2.10:50000")
			logins := map[string]*Login{
				pwSFTP:   PasswordLogin(acct, serverconfig.ProtocolSFTP, remote),
				keySFTP:  KeyLogin(acct, key, remote),
				bothSFTP: PasswordLogin(acct, serverconfig.ProtocolSFTP, remote),
				ftpPlain: PasswordLogin(acct, serverconfig.ProtocolFTP, remote),
				ftpTLS:   PasswordLogin(acct, serverconfig.ProtocolFTP, remote),
			}
			logins[bothSFTP].KeyFingerprint = ssh.FingerprintSHA256(key)
			logins[ftpTLS].TLSEnforced = true
			if alice.RequireAllAuthMethods { // only a two-factor session could have logged in
				logins = map[string]*Login{bothSFTP: logins[bothSFTP]}
			}
			for kind, login := range logins {
				if r := users.Check(login); r != nil {
					t.Fatalf("%s: the configuration it logged in with ends it (%s: %s)", kind, r.Reason, r.Detail)
				}
			}

			next := *base
			sftpCopy, ftpCopy := *base.SFTP, *base.FTP
			next.SFTP, next.FTP = &sftpCopy, &ftpCopy
			next.SFTP.AuthMethods = slices.Clone(base.SFTP.AuthMethods)
			next.Users = slices.Clone(base.Users)
			next.Users[0].AuthorizedKeys = slices.Clone(alice.AuthorizedKeys)
			tc.change(&next)
			if err := users.Update(&next); err != nil {
				t.Fatal(err)
			}
			for _, kind := range sessionKinds {
				if logins[kind] == nil {
					continue
				}
				got := users.Check(logins[kind])
				want, ended := tc.want[kind]
				switch {
				case !ended && got != nil:
					t.Errorf("%s: ended (%s: %s), want it to stay open", kind, got.Reason, got.Detail)
				case ended && got == nil:
					t.Errorf("%s: stays open, want it ended (%s)", kind, want)
				case ended && got.Reason != want:
					t.Errorf("%s: ended for %s (%s), want %s", kind, got.Reason, got.Detail, want)
				}
			}
		})
	}
}

func TestCheckDetails(t *testing.T) {
	users := NewUsers()
	cfg := &serverconfig.Config{Users: []serverconfig.User{{Username: "alice", PasswordHash: testcreds.Hash(t, "pw")}}}
	if err := users.Update(cfg); err != nil {
		t.Fatal(err)
	}
	acct, _ := users.Lookup("alice")
	login := PasswordLogin(acct, serverconfig.ProtocolFTP, netip.MustParseAddrPort("192.0.2.10:21"))
	cfg.Users[0].Permissions = []serverconfig.Permission{serverconfig.PermissionList, serverconfig.PermissionDownload, serverconfig.PermissionMkdir}
	if err := users.Update(cfg); err != nil {
		t.Fatal(err)
	}
	r := users.Check(login)
	if r == nil || r.Detail != "lost upload, overwrite, delete, rename" {
		t.Fatalf("Check = %+v, want the lost permissions named in order", r)
	}
	cfg.Users[0].PasswordHash = ""
	cfg.Users[0].AuthorizedKeys = []string{string(ssh.MarshalAuthorizedKey(testcreds.Signer(t).PublicKey()))}
	if err := users.Update(cfg); err != nil {
		t.Fatal(err)
	}
	if r := users.Check(login); r == nil || r.Reason != ReasonPasswordChanged || r.Detail != "the password was removed" {
		t.Fatalf("Check = %+v, want the removed password named", r)
	}
	if got := login.Methods(); got != "password" {
		t.Fatalf("Methods() = %q", got)
	}
}
