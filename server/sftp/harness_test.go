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
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/servertest"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
	"github.com/pier-dev/pier/internal/testsupport/testnet"
)

// testServer is a running SFTP server on 127.0.0.1 with its own storage, host key and users.
type testServer struct {
	*Server
	servertest.Reloader
	addr        string
	storage     string
	hostKeyFile string
	users       []serverconfig.User
	clientKey   ssh.Signer // alice's key
}

// passwords of the test users, hashed into their config entries.
var passwords = map[string]string{
	"alice": "alice-secret", "reader": "reader-secret", "dropper": "dropper-secret", "updater": "updater-secret",
}

// startServer starts a server with two users: alice (ReadWrite, password and key) and reader (ReadOnly,
// home /shared).
func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerIn(t, t.TempDir(), "127.0.0.1:0")
}

// startServerIn is startServer with its storage and host key in dir, listening on addr. A host key already in
// dir is kept, so a server restarted on the same dir looks the same to clients.
func startServerIn(t *testing.T, dir, addr string) *testServer {
	t.Helper()
	ts := &testServer{storage: filepath.Join(dir, "storage"), hostKeyFile: filepath.Join(dir, "host_key"), clientKey: testcreds.Signer(t)}
	if err := os.MkdirAll(ts.storage, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ts.hostKeyFile); err != nil {
		testcreds.WriteHostKey(t, ts.hostKeyFile)
	}
	hostKeys, err := NewHostKeys([]string{ts.hostKeyFile})
	if err != nil {
		t.Fatal(err)
	}
	ts.users = []serverconfig.User{
		{Username: "alice", PasswordHash: testcreds.Hash(t, passwords["alice"]),
			AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(ts.clientKey.PublicKey()))}},
		{Username: "reader", PasswordHash: testcreds.Hash(t, passwords["reader"]), HomeDirectory: "/shared",
			Permissions: []serverconfig.Permission{serverconfig.PresetReadOnly}},
	}
	log := testLogger()
	logins := servertest.NewLogins(t, ts.users, 5, log)
	ts.Server = &Server{Auth: logins.Auth, Limiter: logins.Limiter, Sessions: logins.Sessions, HostKeys: hostKeys,
		Metrics: logins.Metrics, Log: log}
	ts.Reloader = logins.Reloader()
	ts.SetSettings(Settings{
		StorageRoot:  ts.storage,
		AuthMethods:  []serverconfig.AuthMethod{serverconfig.AuthMethodPassword, serverconfig.AuthMethodPublicKey},
		IdleTimeout:  time.Minute,
		LoginTimeout: 10 * time.Second,
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: the listeners close before Shutdown, as in the server.
	t.Cleanup(func() {
		ctx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		ts.Shutdown(ctx)
	})
	ts.addr = servertest.Serve(t, ln, ts.Serve)
	return ts
}

// listenIPv6 adds a listener on [::1] and returns its address; it skips the test (fails it under
// PIER_REQUIRE_CLIENTS=1) on a machine without IPv6 loopback.
func (ts *testServer) listenIPv6(t *testing.T) string {
	t.Helper()
	return servertest.Serve(t, testnet.RequireIPv6(t), ts.Serve)
}

// dial logs in with the given method and returns an SFTP client; the host key must be the one in the file.
func (ts *testServer) dial(t *testing.T, user string, method ssh.AuthMethod) (*sftp.Client, error) {
	t.Helper()
	return ts.dialAt(t, ts.addr, user, method)
}

// dialAt is dial to one of the server's addresses.
func (ts *testServer) dialAt(t *testing.T, addr, user string, method ssh.AuthMethod) (*sftp.Client, error) {
	t.Helper()
	s, err := servertest.DialSFTP(addr, ts.clientConfig(t, user, method))
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.Client, nil
}

// clientConfig logs a Go client in as user with methods, in order; the host key must be the one in the file.
func (ts *testServer) clientConfig(t *testing.T, user string, methods ...ssh.AuthMethod) *ssh.ClientConfig {
	t.Helper()
	return &ssh.ClientConfig{User: user, Auth: methods, HostKeyCallback: ts.hostKeyCallback(t), Timeout: 10 * time.Second}
}

// sshLogin logs in over SSH as user with the password, and closes the connection when the test ends.
func (ts *testServer) sshLogin(t *testing.T, user string) *ssh.Client {
	t.Helper()
	conn, err := ssh.Dial("tcp", ts.addr, ts.clientConfig(t, user, ssh.Password(passwords[user])))
	if err != nil {
		t.Fatalf("logging in as %s: %v", user, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// newSession opens an SSH session on conn, closed when the test ends.
func newSession(t *testing.T, conn *ssh.Client) *ssh.Session {
	t.Helper()
	sess, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return sess
}

func (ts *testServer) mustDial(t *testing.T, user string) *sftp.Client {
	t.Helper()
	c, err := ts.dial(t, user, ssh.Password(passwords[user]))
	if err != nil {
		t.Fatalf("logging in as %s: %v", user, err)
	}
	return c
}

// hostKeyCallback accepts exactly the key currently in the host key file.
func (ts *testServer) hostKeyCallback(t *testing.T) ssh.HostKeyCallback {
	t.Helper()
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		signer, err := loadHostKey(ts.hostKeyFile)
		if err != nil {
			return err
		}
		if string(signer.PublicKey().Marshal()) != string(key.Marshal()) {
			return errHostKeyMismatch
		}
		return nil
	}
}

// curlFingerprint is the SHA-256 fingerprint of the host key in the file, as curl's --hostpubsha256 takes it.
func (ts *testServer) curlFingerprint(t *testing.T) string {
	t.Helper()
	hostKey, err := loadHostKey(ts.hostKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(ssh.FingerprintSHA256(hostKey.PublicKey()), "SHA256:")
}

var errHostKeyMismatch = errors.New("host key does not match the key file")

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// testLogger discards the server's log unless PIER_TEST_LOG=1, when it goes to stderr for debugging.
func testLogger() *slog.Logger {
	if os.Getenv("PIER_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
