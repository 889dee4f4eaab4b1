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
	"errors"
	"io"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	dto "github.com/prometheus/client_model/go"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// replyCode is the FTP reply code of a failed command, or 0.
func replyCode(err error) int {
	var protoErr *textproto.Error
	if errors.As(err, &protoErr) {
		return protoErr.Code
	}
	return 0
}

// TestReadOnlyUser: a ReadOnly user can list and download, and everything else is refused with 550 and a reply
// that says the permission is missing.
func TestReadOnlyUser(t *testing.T) {
	ts := startServer(t)
	writeHomeFile(t, ts, "reader", "report.csv", []byte("a,b\n"))
	writeHomeFile(t, ts, "reader", "sub/keep.txt", []byte("keep"))
	c := ts.login(t, "reader")
	if got := retrieve(t, c, "report.csv", 0); string(got) != "a,b\n" {
		t.Fatalf("download: %q", got)
	}
	if _, err := c.List("/"); err != nil {
		t.Fatalf("listing: %v", err)
	}
	err := c.Stor("new.txt", strings.NewReader("nope"))
	if replyCode(err) != 550 || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("STOR: %v, want 550 permission denied", err)
	}
	for name, op := range map[string]func() error{
		"APPE": func() error { return c.Append("report.csv", strings.NewReader("more")) },
		"DELE": func() error { return c.Delete("report.csv") },
		"MKD":  func() error { return c.MakeDir("newdir") },
		"RMD":  func() error { return c.RemoveDir("sub") },
		"RNTO": func() error { return c.Rename("report.csv", "moved.csv") },
		"MFMT": func() error { return c.SetTime("report.csv", time.Now()) },
	} {
		if err := op(); replyCode(err) != 550 || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s: %v, want 550 permission denied", name, err)
		}
	}
	entries, _ := os.ReadDir(ts.home("reader"))
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"report.csv", "sub"}) {
		t.Fatalf("the read-only home changed: %v", names)
	}
	if got, _ := os.ReadFile(filepath.Join(ts.home("reader"), "report.csv")); string(got) != "a,b\n" {
		t.Fatalf("the file changed: %q", got)
	}
}

// TestEscapes: "..", absolute paths and symbolic links planted in the home directory never reach files
// outside it, for reading, writing, listing, renaming or deleting.
func TestEscapes(t *testing.T) {
	ts := startServer(t)
	outside := t.TempDir()
	outsideFile := filepath.Join(outside, "outside.txt")
	if err := os.WriteFile(outsideFile, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeHomeFile(t, ts, "bob", "secret.txt", []byte("bob's secret"))
	writeHomeFile(t, ts, "alice", "mine.txt", []byte("mine"))
	home := ts.home("alice")
	for link, target := range map[string]string{
		"link-out":  outside,
		"file-link": outsideFile,
		"link-bob":  "../bob",
		"rel-up":    "../../..",
	} {
		if err := os.Symlink(target, filepath.Join(home, link)); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.login(t, "alice")
	tryEscapes(t, c, outsideFile)

	// Nothing outside alice's home changed; "../bob/planted.txt" landed in alice's own /bob.
	if got, _ := os.ReadFile(outsideFile); string(got) != "outside" {
		t.Fatalf("the outside file changed: %q", got)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 1 {
		t.Fatalf("files appeared outside: %v", entries)
	}
	if entries, _ := os.ReadDir(ts.home("bob")); len(entries) != 1 {
		t.Fatalf("bob's home changed: %v", entries)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "bob", "planted.txt")); string(got) != "mine" {
		t.Fatalf("the renamed file is not in alice's /bob: %q", got)
	}
}

// tryEscapes attempts to read, write, list, delete and rename outside the jail; every attempt must fail or stay
// inside.
func tryEscapes(t *testing.T, c *ftp.ServerConn, outsideFile string) {
	t.Helper()
	for _, name := range []string{
		"../bob/secret.txt", "/../bob/secret.txt", "../../" + outsideFile, outsideFile,
		"link-out/outside.txt", "file-link", "link-bob/secret.txt", "rel-up" + outsideFile,
	} {
		if err := tryRetrieve(c, name); err == nil {
			t.Errorf("RETR %q succeeded", name)
		}
	}
	for _, name := range []string{"link-out/new.txt", "link-bob/new.txt", "file-link", "rel-up/tmp/new.txt"} {
		if err := c.Stor(name, strings.NewReader("evil")); err == nil {
			t.Errorf("STOR %q succeeded", name)
		}
	}
	for _, name := range []string{"link-out", "link-bob", "rel-up"} {
		if entries, err := c.List(name); err == nil && len(entries) > 0 {
			t.Errorf("LIST %q showed %d entries from outside", name, len(entries))
		}
	}
	if err := c.Delete("link-bob/secret.txt"); err == nil {
		t.Error("DELE through a link succeeded")
	}
	if err := c.Rename("../bob/secret.txt", "stolen.txt"); err == nil {
		t.Error("RNFR/RNTO from another home succeeded")
	}
	if err := c.MakeDir("/bob"); err != nil { // alice's own /bob
		t.Fatal(err)
	}
	if err := c.Rename("mine.txt", "../bob/planted.txt"); err != nil {
		t.Fatalf("RNTO ../bob/planted.txt should stay inside the jail: %v", err)
	}
	if err := c.MakeDir("link-out/x"); err == nil {
		t.Error("MKD through a link succeeded")
	}
	if err := c.ChangeDir("../../.."); err != nil {
		t.Fatal(err)
	}
	if cwd, _ := c.CurrentDir(); cwd != "/" {
		t.Errorf("CWD ../../.. went to %q", cwd)
	}

}

// TestWrongPasswords: wrong passwords are refused with a reply that does not say why, and after three failures
// the address is banned: even the right password is refused, at connect time.
func TestWrongPasswords(t *testing.T) {
	ts := startServer(t)
	for i, user := range []string{"alice", "nobody", "alice"} {
		c, err := ts.dial(t, ts.clientTLS())
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		err = c.Login(user, "wrong")
		if replyCode(err) != 530 || !strings.Contains(err.Error(), "Login incorrect") {
			t.Fatalf("attempt %d: %v, want 530 Login incorrect", i, err)
		}
	}
	c, err := ts.dial(t, ts.clientTLS())
	if err == nil {
		err = c.Login("alice", passwords["alice"])
	}
	if err == nil {
		t.Fatal("a banned address logged in")
	}
	if !strings.Contains(err.Error(), "421") {
		t.Fatalf("banned connection: %v, want a 421 refusal", err)
	}
	if n := ts.Auth.Defender.Banned(); n != 1 {
		t.Fatalf("%d banned addresses, want 1", n)
	}
}

// TestUsersChangeWhileRunning: a user added by a reload can log in; a removed or disabled user's sessions are
// closed, in the middle of a transfer too, and others keep theirs.
func TestUsersChangeWhileRunning(t *testing.T) {
	ts := startServer(t)
	alice := ts.login(t, "alice")
	reader := ts.login(t, "reader")

	// alice uploads from a pipe that never ends, so the transfer is still running when she is removed.
	pr, pw := io.Pipe()
	defer func() { _ = pw.Close() }()
	uploadDone := make(chan error, 1)
	go func() { uploadDone <- alice.Stor("endless.bin", pr) }()
	if _, err := pw.Write(payload.Random(64 << 10)); err != nil {
		t.Fatal(err)
	}

	users := testUsers(t)
	bob := serverconfig.User{Username: "bob", PasswordHash: testcreds.Hash(t, passwords["bob"])}
	ts.SetUsers(t, append(users[1:], bob)) // alice removed, bob added
	go func() {
		for { // keep the pipe flowing until the closed data connection fails the upload
			if _, err := pw.Write(make([]byte, 32<<10)); err != nil {
				return
			}
		}
	}()
	if err := <-uploadDone; err == nil {
		t.Fatal("the removed user's upload completed")
	}
	_ = pr.CloseWithError(io.ErrClosedPipe)
	if err := alice.NoOp(); err == nil {
		t.Fatal("the removed user's connection still answers")
	}
	if err := reader.NoOp(); err != nil {
		t.Fatalf("another user's session was closed: %v", err)
	}
	b := ts.login(t, "bob")
	if err := b.Stor("hello.txt", bytes.NewReader([]byte("hi"))); err != nil {
		t.Fatal(err)
	}

	// Disabling bob closes his session.
	bob.Disabled = true
	ts.SetUsers(t, append(users[1:], bob))
	if err := b.NoOp(); err == nil {
		t.Fatal("the disabled user's connection still answers")
	}
	if _, err := ts.dial(t, ts.clientTLS()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sessions registry to forget the closed sessions", func() bool { return ts.Sessions.Count() == 1 })
	// The interrupted upload is logged as failed. The line comes when ftpserverlib closes the file, in the data
	// transfer's goroutine, which may finish after the control connection's session has ended.
	waitFor(t, "a failed upload line for the interrupted transfer", func() bool {
		return slices.ContainsFunc(ts.log.lines(), func(l transferLine) bool {
			return l.op == "upload" && l.path == "/endless.bin" && l.result == "error"
		})
	})
}

// waitFor polls cond until it holds; it bounds how long the test waits, not how fast the server must be.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTransferLog: one transfer line per file operation, with sftp's operation names, and the metrics.
func TestTransferLog(t *testing.T) {
	ts := startServer(t)
	c := ts.login(t, "alice")
	steps := []error{
		c.MakeDir("d"),
		c.Stor("d/a.txt", strings.NewReader("abc")),
		tryRetrieve(c, "d/a.txt"),
		c.SetTime("d/a.txt", time.Now()),
		c.Rename("d/a.txt", "d/b.txt"),
		c.Delete("d/b.txt"),
		c.RemoveDir("d"),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	r := ts.login(t, "reader")
	_ = r.Stor("denied.txt", strings.NewReader("x"))
	_ = c.Quit()
	_ = r.Quit()

	want := []transferLine{
		{"mkdir", "/d", "ok", "alice"}, {"upload", "/d/a.txt", "ok", "alice"}, {"download", "/d/a.txt", "ok", "alice"},
		{"setstat", "/d/a.txt", "ok", "alice"}, {"rename", "/d/a.txt", "ok", "alice"}, {"remove", "/d/b.txt", "ok", "alice"},
		{"rmdir", "/d", "ok", "alice"}, {"upload", "/denied.txt", "denied", "reader"},
	}
	if got := ts.log.lines(); !slices.Equal(got, want) {
		t.Fatalf("transfer lines:\n got %v\nwant %v", got, want)
	}
	families, err := ts.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	uploads := counterValue(families, "pier_file_operations_total", map[string]string{"protocol": "ftp", "op": "upload", "result": "ok"})
	bytesIn := counterValue(families, "pier_transfer_bytes_total", map[string]string{"protocol": "ftp", "direction": "in"})
	logins := counterValue(families, "pier_logins_total", map[string]string{"protocol": "ftp", "result": "success"})
	if uploads != 1 || bytesIn != 3 || logins != 2 {
		t.Fatalf("metrics: uploads %v, bytes in %v, logins %v; want 1, 3, 2", uploads, bytesIn, logins)
	}
}

func counterValue(families []*dto.MetricFamily, name string, labels map[string]string) float64 {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestAdmission: clients outside the allowed networks and clients over the connection limit are refused with
// 421 before they can log in.
func TestAdmission(t *testing.T) {
	ts := startServer(t)
	ts.Limiter.SetLimits(0, 1)
	first := rawDial(t, ts.addr, nil)
	second, err := ts.dial(t, ts.clientTLS())
	if err == nil {
		err = second.Login("alice", passwords["alice"])
	}
	if err == nil || !strings.Contains(err.Error(), "Too many connections") {
		t.Fatalf("a second connection from the same address: %v, want 421 Too many connections", err)
	}
	first.expect(221, "QUIT")
	waitFor(t, "the first connection's slot to be released", func() bool { return ts.Limiter.Open() == 0 })
	if _, err := ts.dial(t, ts.clientTLS()); err != nil {
		t.Fatalf("a connection after the first one left: %v", err)
	}

	ts.Limiter.SetLimits(0, 0)
	if err := ts.Auth.Users.Update(&serverconfig.Config{Users: testUsers(t), AllowedSourceRanges: []string{"10.0.0.0/8"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.dial(t, ts.clientTLS()); err == nil || !strings.Contains(err.Error(), "421") {
		t.Fatalf("a connection from outside the allowed networks: %v, want 421", err)
	}
}
