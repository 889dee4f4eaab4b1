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

package ftp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
	"github.com/pier-dev/pier/server/auth"
)

// heldUpload is curl uploading from a pipe over explicit FTPS: a logged-in session in the middle of a transfer
// for as long as the test keeps the pipe open.
type heldUpload struct {
	*realclient.Process
	sent bytes.Buffer // what the test wrote into the pipe
	out  bytes.Buffer
}

// chunk is what the test writes into curl's pipe at a time.
const chunk = 32 << 10

// startHeldUpload starts curl uploading to remote as user over explicit FTPS, and waits until the first data
// reached the file.
func startHeldUpload(t *testing.T, ts *testServer, user, password, remote string) *heldUpload {
	t.Helper()
	url := fmt.Sprintf("ftp://%s:%s@127.0.0.1:%s/%s", user, password, portOf(t, ts.addr), remote)
	return startCurlUpload(t, filepath.Join(ts.home(user), remote), url, "--ssl-reqd", "--cacert", ts.ca.CAFile)
}

// startCurlUpload starts curl uploading to url with args, and waits until the first data reached onDisk.
func startCurlUpload(t *testing.T, onDisk, url string, args ...string) *heldUpload {
	t.Helper()
	cmd := exec.Command("curl", append(append([]string{"--silent", "--show-error"}, args...), "-T", "-", url)...)
	h := &heldUpload{}
	cmd.Stdout, cmd.Stderr = &h.out, &h.out
	h.Process = realclient.Start(t, cmd)
	h.send(t)
	waitFor(t, "the upload's first data on disk", func() bool {
		info, err := os.Stat(onDisk)
		return err == nil && info.Size() > 0
	})
	return h
}

// send writes one more chunk into the upload.
func (h *heldUpload) send(t *testing.T) {
	t.Helper()
	data := payload.Random(chunk)
	if _, err := h.Stdin.Write(data); err != nil {
		t.Fatalf("writing to curl: %v", err)
	}
	h.sent.Write(data)
}

// ended checks that the server cut the session: curl fails while the test still has data for it, and the file
// holds a prefix of what was sent. The pipe is kept flowing, so curl keeps sending and sees the closed
// connections; the 20 s bound a hung test.
func (h *heldUpload) ended(t *testing.T, onDisk string) {
	t.Helper()
	fed := make(chan []byte, 1)
	go func() {
		var sent []byte
		for i := 1; ; i++ {
			data := bytes.Repeat([]byte{byte(i)}, chunk) // each chunk different, so order shows
			n, err := h.Stdin.Write(data)
			sent = append(sent, data[:n]...)
			if err != nil { // curl has exited (or was killed)
				fed <- sent
				return
			}
		}
	}()
	exited, err := h.Wait(20 * time.Second)
	switch {
	case !exited:
		t.Error("the session was not ended")
	case err == nil:
		t.Fatalf("the upload completed; want the session ended by the server:\n%s", h.out.String())
	}
	_ = h.Stdin.Close() // ends the feeder if curl is still running
	h.sent.Write(<-fed)
	if t.Failed() {
		t.FailNow()
	}
	got, err := os.ReadFile(onDisk)
	if err != nil || !bytes.HasPrefix(h.sent.Bytes(), got) {
		t.Fatalf("the interrupted upload left %d bytes that are not a prefix of the %d sent (%v)", len(got), h.sent.Len(), err)
	}
}

// finish sends a last chunk, ends the upload and checks that curl succeeded and the file is what was sent.
func (h *heldUpload) finish(t *testing.T, onDisk string) {
	t.Helper()
	h.send(t)
	_ = h.Stdin.Close()
	exited, err := h.Wait(20 * time.Second)
	switch {
	case !exited:
		t.Fatal("curl did not finish the upload")
	case err != nil:
		t.Fatalf("curl failed: %v\n%s", err, h.out.String())
	}
	got, err := os.ReadFile(onDisk)
	if err != nil || !bytes.Equal(got, h.sent.Bytes()) {
		t.Fatalf("the uploaded file differs from what was sent (%v; %d bytes, want %d)", err, len(got), h.sent.Len())
	}
}

// curlAs runs curl as alice with password over explicit FTPS on path, with extra arguments, and returns its
// output and error.
func curlAs(t *testing.T, ts *testServer, password, path string, extra ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("ftp://alice:%s@127.0.0.1:%s/%s", password, portOf(t, ts.addr), path)
	args := append([]string{"--silent", "--show-error", "--fail", "--ssl-reqd", "--cacert", ts.ca.CAFile}, extra...)
	out, err := exec.CommandContext(ctx, "curl", append(args, url)...).CombinedOutput()
	return string(out), err
}

// TestOpenFTPSessionsFollowRestrictions: a configuration change that restricts alice ends her FTPS session at
// once, in the middle of an upload; a change that takes nothing away from it lets the upload finish. A new login
// then gets exactly the new rights.
func TestOpenFTPSessionsFollowRestrictions(t *testing.T) {
	realclient.Require(t, "curl")
	local := filepath.Join(t.TempDir(), "local.txt")
	if err := os.WriteFile(local, []byte("local"), 0o600); err != nil {
		t.Fatal(err)
	}
	loginRefused := func(t *testing.T, ts *testServer, password string) {
		t.Helper()
		if out, err := curlAs(t, ts, password, ""); err == nil {
			t.Fatalf("alice logged in under the new configuration:\n%s", out)
		}
	}
	cases := []struct {
		name   string
		before func(alice *serverconfig.User)
		change func(cfg *serverconfig.Config) // alice is Users[0]
		ends   auth.Reason                    // why the open session ends; empty when it stays
		then   func(t *testing.T, ts *testServer)
	}{
		{name: "reduced to ReadOnly", ends: auth.ReasonPermissionsReduced,
			change: func(c *serverconfig.Config) {
				c.Users[0].Permissions = []serverconfig.Permission{serverconfig.PresetReadOnly}
			},
			then: func(t *testing.T, ts *testServer) {
				if out, err := curlAs(t, ts, passwords["alice"], "before.txt"); err != nil || out != "before" {
					t.Fatalf("a read-only user cannot download: %v\n%s", err, out)
				}
				if out, err := curlAs(t, ts, passwords["alice"], "after.txt", "-T", local); err == nil {
					t.Fatalf("a read-only user could upload:\n%s", out)
				}
			}},
		{name: "user's source range excludes the client", ends: auth.ReasonSource,
			change: func(c *serverconfig.Config) { c.Users[0].AllowedSourceRanges = []string{"192.0.2.0/24"} },
			then:   func(t *testing.T, ts *testServer) { loginRefused(t, ts, passwords["alice"]) }},
		{name: "server's source range excludes the client", ends: auth.ReasonSource,
			change: func(c *serverconfig.Config) { c.AllowedSourceRanges = []string{"192.0.2.0/24"} },
			then:   func(t *testing.T, ts *testServer) { loginRefused(t, ts, passwords["alice"]) }},
		{name: "ftp removed from the user's protocols", ends: auth.ReasonProtocol,
			change: func(c *serverconfig.Config) {
				c.Users[0].Protocols = []serverconfig.Protocol{serverconfig.ProtocolSFTP}
			},
			then: func(t *testing.T, ts *testServer) { loginRefused(t, ts, passwords["alice"]) }},
		{name: "home directory changed", ends: auth.ReasonHomeChanged,
			change: func(c *serverconfig.Config) { c.Users[0].HomeDirectory = "/elsewhere" },
			then: func(t *testing.T, ts *testServer) {
				if out, err := curlAs(t, ts, passwords["alice"], "after.txt", "-T", local); err != nil {
					t.Fatalf("uploading after the home directory moved: %v\n%s", err, out)
				}
				if _, err := os.Stat(filepath.Join(ts.storage, "elsewhere", "after.txt")); err != nil {
					t.Fatalf("a new login did not write into the new home directory: %v", err)
				}
			}},
		{name: "password replaced", ends: auth.ReasonPasswordChanged,
			change: func(c *serverconfig.Config) { c.Users[0].PasswordHash = testcreds.Hash(t, "replaced") },
			then: func(t *testing.T, ts *testServer) {
				loginRefused(t, ts, passwords["alice"])
				if out, err := curlAs(t, ts, "replaced", ""); err != nil {
					t.Fatalf("the new password does not log in: %v\n%s", err, out)
				}
			}},
		{name: "both factors now required", ends: auth.ReasonTwoFactor,
			change: func(c *serverconfig.Config) {
				c.Users[0].AuthorizedKeys = []string{string(ssh.MarshalAuthorizedKey(testcreds.Signer(t).PublicKey()))}
				c.Users[0].RequireAllAuthMethods = true
			},
			then: func(t *testing.T, ts *testServer) { loginRefused(t, ts, passwords["alice"]) }},
		{name: "disabled", ends: auth.ReasonUserDisabled,
			change: func(c *serverconfig.Config) { c.Users[0].Disabled = true },
			then:   func(t *testing.T, ts *testServer) { loginRefused(t, ts, passwords["alice"]) }},
		{name: "key added",
			change: func(c *serverconfig.Config) {
				c.Users[0].AuthorizedKeys = []string{string(ssh.MarshalAuthorizedKey(testcreds.Signer(t).PublicKey()))}
			}},
		{name: "permissions only added",
			before: func(u *serverconfig.User) { u.Permissions = []serverconfig.Permission{serverconfig.PresetUploadOnly} },
			change: func(c *serverconfig.Config) {
				c.Users[0].Permissions = []serverconfig.Permission{serverconfig.PresetReadWrite}
			},
			then: func(t *testing.T, ts *testServer) {
				if out, err := curlAs(t, ts, passwords["alice"], "before.txt"); err != nil || out != "before" {
					t.Fatalf("a new login lacks the download permission just granted: %v\n%s", err, out)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t)
			users := testUsers(t)
			if tc.before != nil {
				tc.before(&users[0])
			}
			ts.Reload(t, &serverconfig.Config{Users: users})
			if err := os.MkdirAll(ts.home("alice"), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(ts.home("alice"), "before.txt"), []byte("before"), 0o600); err != nil {
				t.Fatal(err)
			}
			held := startHeldUpload(t, ts, "alice", passwords["alice"], "held.bin")

			next := &serverconfig.Config{Users: append([]serverconfig.User{}, users...)}
			tc.change(next)
			ts.Reload(t, next)
			if tc.ends != "" {
				held.ended(t, filepath.Join(ts.home("alice"), "held.bin"))
				waitFor(t, "the registry to forget the ended session", func() bool { return ts.Sessions.Count() == 0 })
			} else {
				held.finish(t, filepath.Join(ts.home("alice"), "held.bin"))
			}
			checkRevoked(t, ts, tc.ends)
			if tc.then != nil {
				tc.then(t, ts)
			}
		})
	}
}

// TestSessionsWithoutEnforcedTLSEndWhenTLSBecomesRequired: switching the server from Optional to Required TLS
// ends the sessions that logged in where clear connections were allowed (here a plain FTP upload), and leaves
// the implicit-FTPS ones, which never allowed them.
func TestSessionsWithoutEnforcedTLSEndWhenTLSBecomesRequired(t *testing.T) {
	realclient.Require(t, "curl")
	ts := startServer(t, func(s *Settings) { s.TLSMode = serverconfig.TLSOptional })
	cfg := &serverconfig.Config{FTP: &serverconfig.FTP{TLS: serverconfig.TLS{Mode: serverconfig.TLSOptional}}, Users: testUsers(t)}
	ts.Reload(t, cfg)
	if err := os.MkdirAll(ts.home("alice"), 0o750); err != nil {
		t.Fatal(err)
	}
	userinfo := "alice:" + passwords["alice"]
	plain := startCurlUpload(t, filepath.Join(ts.home("alice"), "plain.bin"),
		fmt.Sprintf("ftp://%s@127.0.0.1:%s/plain.bin", userinfo, portOf(t, ts.addr)))
	implicit := startCurlUpload(t, filepath.Join(ts.home("alice"), "implicit.bin"),
		fmt.Sprintf("ftps://%s@127.0.0.1:%s/implicit.bin", userinfo, portOf(t, ts.implicitAddr)), "--cacert", ts.ca.CAFile)

	ts.settings.TLSMode = serverconfig.TLSRequired
	ts.SetSettings(ts.settings)
	cfg.FTP.TLS.Mode = serverconfig.TLSRequired
	ts.Reload(t, cfg)
	plain.ended(t, filepath.Join(ts.home("alice"), "plain.bin"))
	implicit.finish(t, filepath.Join(ts.home("alice"), "implicit.bin"))
	checkRevoked(t, ts, auth.ReasonTLSRequired)
	if out, err := exec.Command("curl", "--silent", "--show-error", "--fail",
		fmt.Sprintf("ftp://%s@127.0.0.1:%s/", userinfo, portOf(t, ts.addr))).CombinedOutput(); err == nil {
		t.Fatalf("a plain FTP login succeeded after TLS became required:\n%s", out)
	}
}

// checkRevoked checks that the server counted and logged exactly one ended session, for reason, or none when
// reason is empty.
func checkRevoked(t *testing.T, ts *testServer, reason auth.Reason) {
	t.Helper()
	families, err := ts.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := counterValue(families, "pier_sessions_revoked_total", map[string]string{"protocol": "ftp"}) // any reason
	lines := ts.log.count("session ended: the new configuration revokes its access")
	if reason == "" {
		if counted != 0 || lines != 0 {
			t.Fatalf("%v sessions counted and %d logged as revoked, want none", counted, lines)
		}
		return
	}
	got := counterValue(families, "pier_sessions_revoked_total", map[string]string{"protocol": "ftp", "reason": string(reason)})
	if got != 1 || lines != 1 {
		t.Fatalf("pier_sessions_revoked_total{reason=%q} = %v and %d log lines, want 1 and 1", reason, got, lines)
	}
}
