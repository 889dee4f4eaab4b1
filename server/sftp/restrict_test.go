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

package sftp

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/poll"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
	"github.com/pier-dev/pier/server/auth"

	"github.com/pier-dev/pier/internal/testsupport/syncbuffer"
)

// heldSFTP is an OpenSSH sftp client that stays logged in: it reads its batch commands from a pipe, so the test
// decides when it acts, and sees whether the server ended it in between.
type heldSFTP struct {
	*realclient.Process
	out *syncbuffer.Buffer
}

// opensshLogin says how OpenSSH logs in as alice: with her password (through sshpass) or her key.
type opensshLogin struct {
	password string // empty: log in with keyFile
	keyFile  string
}

// startHeldSFTP logs in with OpenSSH's sftp as user and waits until the session answers a command.
func startHeldSFTP(t *testing.T, ts *testServer, knownHosts, user string, login opensshLogin) *heldSFTP {
	t.Helper()
	_, port, _ := net.SplitHostPort(ts.addr)
	// Batch mode (-b) stops at the first failed command unless it starts with "-"; the tests rely on that.
	batch := []string{"-b", "-", "-P", port, user + "@127.0.0.1"}
	var cmd *exec.Cmd
	var env []string
	if login.password != "" {
		cmd = exec.Command("sshpass", realclient.PasswordSFTPArgs(knownHosts, batch...)...)
		env = []string{"SSHPASS=" + login.password}
	} else {
		args := append(realclient.OpenSSHOptions(knownHosts), "-i", login.keyFile, "-o", "IdentitiesOnly=yes",
			"-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey")
		cmd = exec.Command("sftp", append(args, batch...)...)
	}
	cmd.Env = append(os.Environ(), env...)
	h := &heldSFTP{out: &syncbuffer.Buffer{}}
	cmd.Stdout, cmd.Stderr = h.out, h.out
	h.Process = realclient.Start(t, cmd)
	h.do(t, "pwd", "Remote working directory: /")
	return h
}

// do sends one command and waits until the output shows want once more than before: the session answered.
func (h *heldSFTP) do(t *testing.T, command, want string) {
	t.Helper()
	before := strings.Count(h.out.String(), want)
	if _, err := io.WriteString(h.Stdin, command+"\n"); err != nil {
		t.Fatalf("sftp %q: %v\n%s", command, err, h.out)
	}
	poll.Until(t, fmt.Sprintf("sftp answers %q", command), 20*time.Second, func() error {
		if exited, err := h.Exited(); exited {
			t.Fatalf("sftp ended (%v) instead of answering %q:\n%s", err, command, h.out)
		}
		if strings.Count(h.out.String(), want) > before {
			return nil
		}
		return errors.New("no answer yet")
	})
}

// ended sends one more command and waits for the client to exit instead of answering it: sftp notices that the
// server closed the connection only when it has something to send (ls asks the server; pwd would not). The 20 s
// bound a hung test; they are not a measurement.
func (h *heldSFTP) ended(t *testing.T) {
	t.Helper()
	_, _ = io.WriteString(h.Stdin, "ls /\n") // fails once sftp has exited, which is what is expected
	exited, err := h.Wait(20 * time.Second)
	switch {
	case !exited:
		t.Fatalf("the session was not ended:\n%s", h.out)
	case err == nil:
		t.Fatalf("sftp exited cleanly; want the connection closed by the server:\n%s", h.out)
	}
}

// quit ends the batch and expects every command to have succeeded.
func (h *heldSFTP) quit(t *testing.T) {
	t.Helper()
	_ = h.Stdin.Close()
	exited, err := h.Wait(20 * time.Second)
	switch {
	case !exited:
		t.Fatalf("sftp did not exit after its last command:\n%s", h.out)
	case err != nil:
		t.Fatalf("sftp failed: %v\n%s", err, h.out)
	}
}

// restrictCase is one configuration change made while alice has an open OpenSSH session.
type restrictCase struct {
	name   string
	method string                         // how the open session logged in: "password" or "publickey"
	before func(alice *serverconfig.User) // alice's settings at login, if not the default
	change func(cfg *serverconfig.Config) // the new configuration; alice is Users[0]
	ends   auth.Reason                    // why the open session ends; empty when it stays
	// then checks what a new login may do under the new configuration; r.held is the open session, if it
	// stayed.
	then func(t *testing.T, r *restrictRun)
}

// restrictRun is the state of one case: the server, alice's credentials and her open session.
type restrictRun struct {
	ts       *testServer
	held     *heldSFTP
	keySig   ssh.Signer
	newKey   ssh.Signer // a second key of alice's, authorized by the "key added" cases
	local    string     // a file on the client's side to upload
	password string     // alice's password under the new configuration
}

// dialAlice logs in with the Go client as alice, with her password or key.
func (r *restrictRun) dialAlice(t *testing.T, method string) (*sftp.Client, error) {
	t.Helper()
	if method == "password" {
		return r.ts.dial(t, "alice", ssh.Password(r.password))
	}
	return r.ts.dial(t, "alice", ssh.PublicKeys(r.keySig))
}

// TestOpenSessionsFollowRestrictions: a configuration change that restricts alice ends her open OpenSSH sftp
// session at once, whatever it restricts (permissions, source networks, protocols, home, credentials); a change
// that takes nothing away from that session leaves it open. A new login then gets exactly the new rights.
func TestOpenSessionsFollowRestrictions(t *testing.T) {
	realclient.Require(t, "sftp", "sshpass")
	cases := []restrictCase{
		{name: "reduced to ReadOnly", method: "password", ends: auth.ReasonPermissionsReduced,
			change: func(c *serverconfig.Config) {
				c.Users[0].Permissions = []serverconfig.Permission{serverconfig.PresetReadOnly}
			},
			then: func(t *testing.T, r *restrictRun) {
				c := mustClient(t)(r.dialAlice(t, "password"))
				if got := download(t, c, "/before.txt"); string(got) != "before" {
					t.Fatalf("a read-only user cannot download: %q", got)
				}
				if f, err := c.Create("/after.txt"); err == nil {
					_ = f.Close()
					t.Fatal("a read-only user could create a file")
				}
			}},
		{name: "user's source range excludes the client", method: "publickey", ends: auth.ReasonSource,
			change: func(c *serverconfig.Config) { c.Users[0].AllowedSourceRanges = []string{"192.0.2.0/24"} },
			then:   loginRefused("publickey")},
		{name: "server's source range excludes the client", method: "password", ends: auth.ReasonSource,
			change: func(c *serverconfig.Config) { c.AllowedSourceRanges = []string{"192.0.2.0/24", "2001:db8::/32"} },
			then:   loginRefused("password")},
		{name: "source range still admits the client", method: "password",
			change: func(c *serverconfig.Config) { c.Users[0].AllowedSourceRanges = []string{"127.0.0.0/8", "192.0.2.0/24"} }},
		{name: "sftp removed from the user's protocols", method: "publickey", ends: auth.ReasonProtocol,
			change: func(c *serverconfig.Config) { c.Users[0].Protocols = []serverconfig.Protocol{serverconfig.ProtocolFTP} },
			then:   loginRefused("publickey")},
		{name: "home directory changed", method: "password", ends: auth.ReasonHomeChanged,
			change: func(c *serverconfig.Config) { c.Users[0].HomeDirectory = "/elsewhere" },
			then: func(t *testing.T, r *restrictRun) {
				c := mustClient(t)(r.dialAlice(t, "password"))
				if _, err := c.Stat("/before.txt"); err == nil {
					t.Fatal("a new login still sees the old home directory")
				}
				upload(t, c, "/after.txt", []byte("after"))
				if _, err := os.Stat(filepath.Join(r.ts.storage, "elsewhere", "after.txt")); err != nil {
					t.Fatalf("a new login did not write into the new home directory: %v", err)
				}
			}},
		{name: "password replaced, password session", method: "password", ends: auth.ReasonPasswordChanged,
			change: func(c *serverconfig.Config) { c.Users[0].PasswordHash = testcreds.Hash(t, "replaced") },
			then: func(t *testing.T, r *restrictRun) {
				if _, err := r.ts.dial(t, "alice", ssh.Password(passwords["alice"])); err == nil {
					t.Fatal("the replaced password still logs in")
				}
				r.password = "replaced"
				mustClient(t)(r.dialAlice(t, "password"))
			}},
		{name: "password removed, password session", method: "password", ends: auth.ReasonPasswordChanged,
			change: func(c *serverconfig.Config) { c.Users[0].PasswordHash = "" }},
		{name: "password replaced, key session", method: "publickey",
			change: func(c *serverconfig.Config) { c.Users[0].PasswordHash = testcreds.Hash(t, "replaced") }},
		{name: "key added, password session", method: "password",
			change: func(c *serverconfig.Config) {
				c.Users[0].AuthorizedKeys = append(c.Users[0].AuthorizedKeys, "")
			},
			then: func(t *testing.T, r *restrictRun) {
				mustClient(t)(r.ts.dial(t, "alice", ssh.PublicKeys(r.newKey)))
			}},
		{name: "key added, key session", method: "publickey",
			change: func(c *serverconfig.Config) {
				c.Users[0].AuthorizedKeys = append(c.Users[0].AuthorizedKeys, "")
			}},
		{name: "key used replaced by another", method: "publickey", ends: auth.ReasonKeyRemoved,
			change: func(c *serverconfig.Config) { c.Users[0].AuthorizedKeys = []string{""} },
			then: func(t *testing.T, r *restrictRun) {
				if _, err := r.dialAlice(t, "publickey"); err == nil {
					t.Fatal("the removed key still logs in")
				}
				mustClient(t)(r.ts.dial(t, "alice", ssh.PublicKeys(r.newKey)))
			}},
		{name: "both factors now required, password session", method: "password", ends: auth.ReasonTwoFactor,
			change: func(c *serverconfig.Config) { c.Users[0].RequireAllAuthMethods = true },
			then:   loginRefused("password")},
		{name: "disabled", method: "publickey", ends: auth.ReasonUserDisabled,
			change: func(c *serverconfig.Config) { c.Users[0].Disabled = true },
			then:   loginRefused("publickey")},
		{name: "permissions only added", method: "password",
			before: func(u *serverconfig.User) {
				u.Permissions = []serverconfig.Permission{serverconfig.PermissionList, serverconfig.PermissionDownload}
			},
			change: func(c *serverconfig.Config) {
				c.Users[0].Permissions = []serverconfig.Permission{serverconfig.PresetReadWrite}
			},
			then: func(t *testing.T, r *restrictRun) {
				// The open session keeps the rights it logged in with; a new login has the new ones.
				r.held.do(t, "-put "+r.local+" /held.txt", "sftp> -put")
				r.held.do(t, "pwd", "Remote working directory: /")
				if _, err := os.Stat(filepath.Join(r.ts.storage, "alice", "held.txt")); err == nil {
					t.Fatal("the open session gained the upload permission it did not log in with")
				}
				c := mustClient(t)(r.dialAlice(t, "password"))
				upload(t, c, "/after.txt", []byte("after"))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runRestrictCase(t, tc) })
	}
}

func runRestrictCase(t *testing.T, tc restrictCase) {
	ts := startServer(t)
	priv, keySig := testcreds.Ed25519(t)
	newKey := testcreds.Signer(t)
	alice := ts.users[0]
	alice.AuthorizedKeys = []string{string(ssh.MarshalAuthorizedKey(keySig.PublicKey()))}
	if tc.before != nil {
		tc.before(&alice)
	}
	cfg := &serverconfig.Config{Users: []serverconfig.User{alice, ts.users[1]}}
	ts.Reload(t, cfg)
	if err := os.MkdirAll(filepath.Join(ts.storage, "alice"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts.storage, "alice", "before.txt"), []byte("before"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile, knownHosts := opensshFiles(t, ts, ts.addr, priv)
	login := opensshLogin{keyFile: keyFile}
	if tc.method == "password" {
		login.password = passwords["alice"]
	}
	r := &restrictRun{ts: ts, keySig: keySig, newKey: newKey, local: filepath.Join(t.TempDir(), "local.txt"),
		password: passwords["alice"]}
	if err := os.WriteFile(r.local, []byte("local"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.held = startHeldSFTP(t, ts, knownHosts, "alice", login)

	next := *cfg
	next.Users = append([]serverconfig.User{}, cfg.Users...)
	next.Users[0].AuthorizedKeys = append([]string{}, alice.AuthorizedKeys...)
	tc.change(&next)
	for i, key := range next.Users[0].AuthorizedKeys {
		if key == "" { // a placeholder for alice's second key
			next.Users[0].AuthorizedKeys[i] = string(ssh.MarshalAuthorizedKey(newKey.PublicKey()))
		}
	}
	ts.Reload(t, &next)

	if tc.ends != "" {
		r.held.ended(t)
		poll.Until(t, "the registry forgets the ended session", 20*time.Second, func() error {
			if n := ts.Sessions.Count(); n != 0 {
				return fmt.Errorf("%d sessions registered", n)
			}
			return nil
		})
	} else {
		// The reload has returned, so a session it ended is closed already: this command cannot be answered.
		r.held.do(t, "ls -1 /", "before.txt")
	}
	if tc.then != nil {
		tc.then(t, r)
	}
	if tc.ends == "" {
		r.held.quit(t)
	}
	if got, want := revokedCounts(t, ts), map[auth.Reason]float64{}; tc.ends != "" {
		want[tc.ends] = 1
		if !maps.Equal(got, want) {
			t.Fatalf("sessions counted as revoked: %v, want %v", got, want)
		}
	} else if len(got) != 0 {
		t.Fatalf("sessions counted as revoked: %v, want none", got)
	}
}

// revokedCounts reads pier_sessions_revoked_total for SFTP, by reason.
func revokedCounts(t *testing.T, ts *testServer) map[auth.Reason]float64 {
	t.Helper()
	families, err := ts.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[auth.Reason]float64{}
	for _, f := range families {
		if f.GetName() != "pier_sessions_revoked_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["protocol"] == "sftp" {
				counts[auth.Reason(labels["reason"])] += m.GetCounter().GetValue()
			}
		}
	}
	return counts
}

// loginRefused checks that alice can no longer log in with method.
func loginRefused(method string) func(*testing.T, *restrictRun) {
	return func(t *testing.T, r *restrictRun) {
		t.Helper()
		if _, err := r.dialAlice(t, method); err == nil {
			t.Fatalf("alice logged in with her %s under the new configuration", method)
		}
	}
}

// mustClient fails the test when a login that must work failed.
func mustClient(t *testing.T) func(*sftp.Client, error) *sftp.Client {
	return func(c *sftp.Client, err error) *sftp.Client {
		t.Helper()
		if err != nil {
			t.Fatalf("logging in under the new configuration: %v", err)
		}
		return c
	}
}

// TestSessionsFollowCredentialChanges follows three Go-client sessions through a series of reloads: alice with
// her password, alice with the second of her two keys, and carol with key and password (two factors). Each
// ends exactly when the credential it used stops being accepted, and not before.
func TestSessionsFollowCredentialChanges(t *testing.T) {
	ts := startServer(t)
	keyA, keyB, carolKey := testcreds.Signer(t), testcreds.Signer(t), testcreds.Signer(t)
	line := func(s ssh.Signer) string { return string(ssh.MarshalAuthorizedKey(s.PublicKey())) }
	alice := ts.users[0]
	alice.AuthorizedKeys = []string{line(keyA), line(keyB)}
	carol := serverconfig.User{Username: "carol", PasswordHash: testcreds.Hash(t, "carol-pw"),
		AuthorizedKeys: []string{line(carolKey)}, RequireAllAuthMethods: true}
	cfg := &serverconfig.Config{Users: []serverconfig.User{alice, carol}}
	ts.Reload(t, cfg)

	byPassword := mustClient(t)(ts.dial(t, "alice", ssh.Password(passwords["alice"])))
	byKeyB := mustClient(t)(ts.dial(t, "alice", ssh.PublicKeys(keyB)))
	conn, err := ssh.Dial("tcp", ts.addr, ts.clientConfig(t, "carol", ssh.PublicKeys(carolKey), ssh.Password("carol-pw")))
	if err != nil {
		t.Fatalf("carol's two-factor login: %v", err)
	}
	twoFactor := mustClient(t)(sftp.NewClient(conn))
	t.Cleanup(func() { _ = twoFactor.Close(); _ = conn.Close() })

	open := func(step string, want map[string]bool) {
		t.Helper()
		for name, c := range map[string]*sftp.Client{"password": byPassword, "key B": byKeyB, "two factors": twoFactor} {
			if _, err := c.Stat("/"); (err == nil) != want[name] {
				t.Fatalf("%s: the %s session: open = %v, want %v (%v)", step, name, err == nil, want[name], err)
			}
		}
	}
	open("at login", map[string]bool{"password": true, "key B": true, "two factors": true})

	cfg.Users[0].AuthorizedKeys = []string{line(keyB)}
	cfg.Users[1].RequireAllAuthMethods = false
	ts.Reload(t, cfg)
	open("key A removed, two factors no longer required", map[string]bool{"password": true, "key B": true, "two factors": true})

	cfg.SFTP = &serverconfig.SFTP{AuthMethods: []serverconfig.AuthMethod{serverconfig.AuthMethodPublicKey}}
	ts.Reload(t, cfg)
	open("passwords no longer offered", map[string]bool{"key B": true, "two factors": true})

	cfg.Users[1].PasswordHash = testcreds.Hash(t, "carol-new-pw")
	ts.Reload(t, cfg)
	open("carol's password replaced", map[string]bool{"key B": true})

	cfg.Users[0].AuthorizedKeys = []string{line(keyA)}
	ts.Reload(t, cfg)
	open("key B removed", map[string]bool{})

	want := map[auth.Reason]float64{auth.ReasonAuthMethodNotOffered: 1, auth.ReasonPasswordChanged: 1, auth.ReasonKeyRemoved: 1}
	if got := revokedCounts(t, ts); !maps.Equal(got, want) {
		t.Fatalf("sessions counted as revoked: %v, want %v", got, want)
	}
}
