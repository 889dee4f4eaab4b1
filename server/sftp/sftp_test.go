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
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
)

func upload(t *testing.T, c *sftp.Client, name string, data []byte) {
	t.Helper()
	f, err := c.Create(name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close %s: %v", name, err)
	}
}

func download(t *testing.T, c *sftp.Client, name string) []byte {
	t.Helper()
	f, err := c.Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer func() { _ = f.Close() }()
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return buf.Bytes()
}

func TestRoundTripsArePreciseAndDurable(t *testing.T) {
	ts := startServer(t)
	c := ts.mustDial(t, "alice")
	for _, size := range []int{0, 1, 1 << 20, 8<<20 + 13} {
		name := fmt.Sprintf("/file-%d.bin", size)
		data := payload.Random(size)
		upload(t, c, name, data)
		onDisk, err := os.ReadFile(filepath.Join(ts.storage, "alice", name))
		if err != nil {
			t.Fatalf("uploaded file is not in alice's home: %v", err)
		}
		if !bytes.Equal(onDisk, data) {
			t.Fatalf("%s on disk differs from what was uploaded (%d vs %d bytes)", name, len(onDisk), len(data))
		}
		if got := download(t, c, name); !bytes.Equal(got, data) {
			t.Fatalf("%s downloaded differs (%d vs %d bytes)", name, len(got), len(data))
		}
	}
}

func TestPublicKeyLoginAndWrongCredentials(t *testing.T) {
	ts := startServer(t)
	if _, err := ts.dial(t, "alice", ssh.PublicKeys(ts.clientKey)); err != nil {
		t.Fatalf("alice's key was refused: %v", err)
	}
	if _, err := ts.dial(t, "alice", ssh.PublicKeys(testcreds.Signer(t))); err == nil {
		t.Fatal("an unknown key logged in")
	}
	if _, err := ts.dial(t, "alice", ssh.Password("wrong")); err == nil {
		t.Fatal("a wrong password logged in")
	}
	if _, err := ts.dial(t, "nobody", ssh.Password("x")); err == nil {
		t.Fatal("an unknown user logged in")
	}
}

func TestWrongPasswordsBanTheClient(t *testing.T) {
	ts := startServer(t)
	for i := range 5 {
		if _, err := ts.dial(t, "alice", ssh.Password(fmt.Sprintf("guess-%d", i))); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	_, err := ts.dial(t, "alice", ssh.Password(passwords["alice"]))
	if err == nil {
		t.Fatal("a banned address logged in with the right password")
	}
	if ts.Auth.Defender.Banned() != 1 {
		t.Fatalf("Banned() = %d, want 1", ts.Auth.Defender.Banned())
	}
}

func TestShellAndExecRefusedWithMessage(t *testing.T) {
	ts := startServer(t)
	conn := ts.sshLogin(t, "alice")
	sess := newSession(t, conn)
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	err := sess.Run("cat /etc/passwd")
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 1 {
		t.Fatalf("exec returned %v, want exit status 1", err)
	}
	if !strings.Contains(stderr.String(), "pier serves SFTP only") {
		t.Fatalf("exec's stderr does not explain the refusal: %q", stderr.String())
	}
	if _, _, err := conn.OpenChannel("direct-tcpip", nil); err == nil {
		t.Fatal("port forwarding channel was accepted")
	}
}

func TestPermissionsEnforced(t *testing.T) {
	ts := startServer(t)
	if err := os.MkdirAll(filepath.Join(ts.storage, "shared", "dir"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts.storage, "shared", "report.txt"), []byte("report"), 0o640); err != nil {
		t.Fatal(err)
	}
	c := ts.mustDial(t, "reader")
	if got := download(t, c, "/report.txt"); string(got) != "report" {
		t.Fatalf("read-only user could not download: %q", got)
	}
	denied := map[string]func() error{
		"upload": func() error { _, err := c.Create("/new.txt"); return err },
		"delete": func() error { return c.Remove("/report.txt") },
		"rename": func() error { return c.Rename("/report.txt", "/moved.txt") },
		"mkdir":  func() error { return c.Mkdir("/newdir") },
		"rmdir":  func() error { return c.RemoveDirectory("/dir") },
		"chmod":  func() error { return c.Chmod("/report.txt", 0o600) },
	}
	for op, do := range denied {
		err := do()
		if err == nil {
			t.Errorf("%s was allowed for a ReadOnly user", op)
			continue
		}
		if !errors.Is(err, os.ErrPermission) {
			t.Errorf("%s: error %v, want permission denied", op, err)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(ts.storage, "shared", "report.txt")); string(got) != "report" {
		t.Fatal("a denied operation changed the file")
	}
}

func TestEscapesStayInsideTheJail(t *testing.T) {
	ts := startServer(t)
	secret := filepath.Join(ts.storage, "secret.txt")
	if err := os.WriteFile(secret, []byte("top secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(ts.storage, "alice")
	c := ts.mustDial(t, "alice") // creates the home directory
	if err := os.Symlink(secret, filepath.Join(home, "planted")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../", filepath.Join(home, "up")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/../secret.txt", "../../secret.txt", "/planted", "/up/secret.txt", secret} {
		if f, err := c.Open(p); err == nil {
			data, _ := io.ReadAll(f)
			_ = f.Close()
			t.Errorf("opened %s outside the jail: %q", p, data)
		}
	}
	for _, p := range []string{"/up/new.txt", "/planted"} {
		if f, err := c.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC); err == nil {
			_, _ = f.Write([]byte("overwritten"))
			_ = f.Close()
		}
	}
	if err := c.Rename("/up/secret.txt", "/stolen.txt"); err == nil {
		t.Error("renamed a file from outside the jail")
	}
	if got, _ := os.ReadFile(secret); string(got) != "top secret" {
		t.Fatalf("the file outside the jail changed: %q", got)
	}
	if _, err := os.Stat(filepath.Join(ts.storage, "new.txt")); err == nil {
		t.Fatal("a file was created outside the jail")
	}
	// "/.." is the jail root itself.
	entries, err := c.ReadDir("/..")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "secret.txt" || e.Name() == "shared" {
			t.Fatalf("listing /.. showed the storage root: %s", e.Name())
		}
	}
	if err := c.Symlink("/planted", "/link2"); err == nil {
		t.Fatal("creating a symlink was allowed")
	}
}

func TestResumedUploadAndDownload(t *testing.T) {
	ts := startServer(t)
	c := ts.mustDial(t, "alice")
	data := payload.Random(3 << 20)
	half := len(data) / 2

	// An upload interrupted half way, then resumed at its offset without truncating.
	upload(t, c, "/big.bin", data[:half])
	f, err := c.OpenFile("/big.bin", os.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data[half:], int64(half)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := download(t, c, "/big.bin"); !bytes.Equal(got, data) {
		t.Fatal("resumed upload differs from the original")
	}
	// A resumed download reads from an offset.
	r, err := c.Open("/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	tail := make([]byte, len(data)-half)
	if _, err := r.ReadAt(tail, int64(half)); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	_ = r.Close()
	if !bytes.Equal(tail, data[half:]) {
		t.Fatal("download from an offset differs")
	}
}

func TestAppendAndRenameSemantics(t *testing.T) {
	ts := startServer(t)
	c := ts.mustDial(t, "alice")
	upload(t, c, "/log.txt", []byte("one\n"))
	a, err := c.OpenFile("/log.txt", os.O_WRONLY|os.O_APPEND)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("two\n")); err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	if got := download(t, c, "/log.txt"); string(got) != "one\ntwo\n" {
		t.Fatalf("append gave %q", got)
	}

	// Plain rename refuses to replace; posix-rename replaces.
	upload(t, c, "/other.txt", []byte("other"))
	if err := c.Rename("/log.txt", "/other.txt"); err == nil {
		t.Fatal("SFTP rename replaced an existing file")
	}
	if err := c.PosixRename("/log.txt", "/other.txt"); err != nil {
		t.Fatalf("posix-rename: %v", err)
	}
	if got := download(t, c, "/other.txt"); string(got) != "one\ntwo\n" {
		t.Fatalf("posix-rename result %q", got)
	}
}

func TestLargeDirectoryListing(t *testing.T) {
	ts := startServer(t)
	c := ts.mustDial(t, "alice")
	dir := filepath.Join(ts.storage, "alice", "many")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for i := range 10_000 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)), nil, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := c.ReadDir("/many")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Name()] {
			t.Fatalf("%s listed twice", e.Name())
		}
		seen[e.Name()] = true
	}
	if len(seen) != 10_000 {
		t.Fatalf("listed %d entries, want 10000", len(seen))
	}

	if _, err := c.StatVFS("/"); err != nil {
		t.Fatalf("statvfs: %v", err)
	}
}

func TestRevokedUsersAreDisconnectedAndLockedOut(t *testing.T) {
	ts := startServer(t)
	c, err := ts.dial(t, "alice", ssh.PublicKeys(ts.clientKey))
	if err != nil {
		t.Fatal(err)
	}
	upload(t, c, "/keep.txt", []byte("kept"))

	// A new user appears and can log in at once.
	users := append([]serverconfig.User{}, ts.users...)
	users = append(users, serverconfig.User{Username: "bob", PasswordHash: testcreds.Hash(t, "bob-pw")})
	ts.SetUsers(t, users)
	if _, err := ts.dial(t, "bob", ssh.Password("bob-pw")); err != nil {
		t.Fatalf("a user added at run time cannot log in: %v", err)
	}
	// alice's password changes: her session, which logged in with a key, keeps working (restrict_test.go has
	// the password sessions, which end).
	users[0].PasswordHash = testcreds.Hash(t, "rotated")
	ts.SetUsers(t, users)
	if _, err := c.Stat("/keep.txt"); err != nil {
		t.Fatalf("a password change ended an open key session: %v", err)
	}
	if _, err := ts.dial(t, "alice", ssh.Password(passwords["alice"])); err == nil {
		t.Fatal("the old password still works")
	}
	// alice is removed: her session ends and she cannot log in again; her files stay.
	ts.SetUsers(t, users[1:])
	if _, err := c.Stat("/keep.txt"); err == nil {
		t.Fatal("a removed user's session still works")
	}
	if _, err := ts.dial(t, "alice", ssh.Password("rotated")); err == nil {
		t.Fatal("a removed user logged in")
	}
	if _, err := os.Stat(filepath.Join(ts.storage, "alice", "keep.txt")); err != nil {
		t.Fatalf("removing the user removed their files: %v", err)
	}
}

func TestHostKeyRotationSeenByNewConnections(t *testing.T) {
	ts := startServer(t)
	ts.mustDial(t, "alice")
	time.Sleep(10 * time.Millisecond) // a distinct modification time for the rewritten file on coarse clocks
	testcreds.WriteHostKey(t, ts.hostKeyFile)
	// hostKeyCallback accepts only the key now in the file: the new connection must be offered the new key.
	if _, err := ts.dial(t, "alice", ssh.Password(passwords["alice"])); err != nil {
		t.Fatalf("after rotating the host key: %v", err)
	}
}

func TestMalformedInputIsRefused(t *testing.T) {
	ts := startServer(t)
	// Garbage that stalls the handshake ends at the login deadline; keep it short so the test is quick.
	settings := *ts.settings.Load()
	settings.LoginTimeout = time.Second
	ts.SetSettings(settings)
	for _, garbage := range [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		bytes.Repeat([]byte{0xff}, 70000),
		[]byte("SSH-2.0-evil\r\n" + strings.Repeat("\x00\x00\xff\xff", 1000)),
	} {
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write(garbage)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.Copy(io.Discard, conn) // the server must close the connection
		_ = conn.Close()
	}
	// The server still serves.
	ts.mustDial(t, "alice")
}

// sftpChannel opens a raw "sftp" subsystem channel as alice, to send hand-made packets.
func sftpChannel(t *testing.T, ts *testServer) (ssh.Channel, *ssh.Client) {
	t.Helper()
	conn := ts.sshLogin(t, "alice")
	ch, reqs, err := conn.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	go ssh.DiscardRequests(reqs)
	ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"sftp"}))
	if err != nil || !ok {
		t.Fatalf("sftp subsystem refused: %v", err)
	}
	return ch, conn
}

func TestMalformedSFTPPacketsEndOnlyTheirSession(t *testing.T) {
	ts := startServer(t)
	ts.mustDial(t, "alice") // warm up: the baseline below counts a server that has served a session
	before := runtime.NumGoroutine()

	packets := [][]byte{
		{0xff, 0xff, 0xff, 0xff, 1},                            // a length of 4 GiB
		{0, 0, 0, 1, 200},                                      // an unknown packet type
		{0, 0, 0, 5, 1, 0, 0, 0},                               // INIT cut short
		{0, 0, 0, 9, 3, 0, 0, 0, 1, 0xff, 0xff},                // OPEN whose path length runs past the packet
		append([]byte{0, 4, 0, 0, 17}, make([]byte, 1<<18)...), // a 256 KiB packet, over the 256 KiB + header limit
	}
	for i, p := range packets {
		ch, conn := sftpChannel(t, ts)
		init := []byte{0, 0, 0, 5, 1, 0, 0, 0, 3} // SSH_FXP_INIT version 3
		if i > 0 {
			_, _ = ch.Write(init)
		}
		_, _ = ch.Write(p)
		_ = ch.CloseWrite()
		done := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, ch); close(done) }()
		select {
		case <-done: // the server ended the session (or answered and ended it on EOF)
		case <-time.After(30 * time.Second):
			t.Fatalf("packet %d: the server neither answered nor ended the session", i)
		}
		_ = conn.Close()
	}
	// The sessions above left no goroutines behind (client or server side; both run in this process).
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after the malformed sessions, %d before: a session leaked\n%s",
			n, before, buf[:runtime.Stack(buf, true)])
	}
	// And the server still serves.
	upload(t, ts.mustDial(t, "alice"), "/after.txt", []byte("still serving"))
}

func TestHundredMebibyteRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ts := startServer(t)
	c := ts.mustDial(t, "alice")
	data := payload.Random(100 << 20)
	upload(t, c, "/big.bin", data)
	if got := download(t, c, "/big.bin"); !bytes.Equal(got, data) {
		t.Fatal("100 MiB round trip differs")
	}
}

func TestTwoFactorLogin(t *testing.T) {
	ts := startServer(t)
	users := append([]serverconfig.User{}, ts.users...)
	users[0].RequireAllAuthMethods = true
	ts.SetUsers(t, users)
	password, key := ssh.Password(passwords["alice"]), ssh.PublicKeys(ts.clientKey)

	if _, err := ts.dial(t, "alice", password); err == nil {
		t.Fatal("the password alone logged in a two-factor user")
	}
	if _, err := ts.dial(t, "alice", key); err == nil {
		t.Fatal("the key alone logged in a two-factor user")
	}
	for name, methods := range map[string][]ssh.AuthMethod{
		"key then password": {key, password},
		"password then key": {password, key},
	} {
		conn, err := ssh.Dial("tcp", ts.addr, ts.clientConfig(t, "alice", methods...))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_ = conn.Close()
	}
	wrongSecond := []ssh.AuthMethod{key, ssh.Password("wrong")}
	if conn, err := ssh.Dial("tcp", ts.addr, ts.clientConfig(t, "alice", wrongSecond...)); err == nil {
		_ = conn.Close()
		t.Fatal("the right key with a wrong password logged in")
	}
}

func TestWrongKeysCountOncePerConnection(t *testing.T) {
	ts := startServer(t)
	// Each connection offers three wrong keys; it counts as one failure, so five connections ban the client.
	for i := range 5 {
		wrongKeys := ssh.PublicKeys(testcreds.Signer(t), testcreds.Signer(t), testcreds.Signer(t))
		if _, err := ts.dial(t, "alice", wrongKeys); err == nil {
			t.Fatal("unknown keys logged in")
		}
		if banned := ts.Auth.Defender.Banned(); banned != 0 && i < 4 {
			t.Fatalf("banned after %d failed connections, want 5", i+1)
		}
	}
	// The server records the failure when its side of the handshake ends, just after the client gave up.
	deadline := time.Now().Add(10 * time.Second)
	for ts.Auth.Defender.Banned() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ts.Auth.Defender.Banned() != 1 {
		t.Fatal("five connections failing with wrong keys did not ban the client")
	}
	if _, err := ts.dial(t, "alice", ssh.PublicKeys(ts.clientKey)); err == nil {
		t.Fatal("a banned client logged in with the right key")
	}
}

func TestWeakAlgorithmsRefused(t *testing.T) {
	ts := startServer(t)
	weak := map[string]ssh.Config{
		"CBC cipher":      {Ciphers: []string{"aes128-cbc"}},
		"SHA-1 MAC":       {Ciphers: []string{ssh.CipherAES128CTR}, MACs: []string{ssh.HMACSHA1}},
		"finite-field DH": {KeyExchanges: []string{ssh.InsecureKeyExchangeDH14SHA1}},
		"NIST ECDH only":  {KeyExchanges: []string{ssh.KeyExchangeECDHP256}},
	}
	for name, algorithms := range weak {
		cfg := ts.clientConfig(t, "alice", ssh.Password(passwords["alice"]))
		cfg.Config = algorithms
		conn, err := ssh.Dial("tcp", ts.addr, cfg)
		if err == nil {
			_ = conn.Close()
			t.Errorf("a client offering only %s connected", name)
		}
	}
}
