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
	"context"
	"crypto/tls"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/servertest"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
	"github.com/pier-dev/pier/internal/testsupport/testnet"
	"github.com/pier-dev/pier/server/certs"
)

// passwords of the test users, hashed into their config entries.
var passwords = map[string]string{
	"alice": "alice-secret", "reader": "reader-secret", "bob": "bob-secret", "dropper": "dropper-secret", "mover": "mover-secret",
	"updater": "updater-secret",
}

// testServer is a running FTP server on 127.0.0.1 with an explicit and an implicit listener, its own storage,
// certificate authority and users; listenIPv6 adds listeners on [::1].
type testServer struct {
	*Server
	servertest.Reloader
	addr         string // explicit FTP/FTPS
	implicitAddr string
	storage      string
	ca           *testcreds.CA
	settings     Settings
	log          *recorder
}

// testUsers are alice (ReadWrite, home /alice) and reader (ReadOnly, home /shared).
func testUsers(t *testing.T) []serverconfig.User {
	t.Helper()
	return []serverconfig.User{
		{Username: "alice", PasswordHash: hashOf(t, passwords["alice"])},
		{Username: "reader", PasswordHash: hashOf(t, passwords["reader"]), HomeDirectory: "/shared",
			Permissions: []serverconfig.Permission{serverconfig.PresetReadOnly}},
	}
}

// hashes holds one bcrypt hash per test password. The operator, too, keeps the hash of an unchanged password:
// a new hash may mean a new password, and ends the open sessions that logged in with the old one.
var hashes sync.Map

func hashOf(t *testing.T, password string) string {
	t.Helper()
	h, _ := hashes.LoadOrStore(password, testcreds.Hash(t, password))
	return h.(string)
}

// randomPortRange picks 20 passive ports at random, so that test servers (and other packages' tests) rarely
// compete for the same ones; ftpserverlib moves on to the next port when one is taken.
func randomPortRange() serverconfig.PortRange {
	start := 20000 + mrand.IntN(40000) //nolint:gosec // test port choice
	return serverconfig.PortRange{Start: start, End: start + 19}
}

// startServer starts a server in TLS Required mode with session reuse required; change applies other settings.
func startServer(t *testing.T, change ...func(*Settings)) *testServer {
	t.Helper()
	dir := t.TempDir()
	ts := &testServer{storage: filepath.Join(dir, "storage"), ca: testcreds.NewCA(t), log: &recorder{}}
	if err := os.MkdirAll(ts.storage, 0o750); err != nil {
		t.Fatal(err)
	}
	reloader, err := certs.NewReloader(ts.ca.CertFile, ts.ca.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(ts.log)
	logins := servertest.NewLogins(t, testUsers(t), 3, log)
	ts.Server = &Server{Auth: logins.Auth, Limiter: logins.Limiter, Sessions: logins.Sessions, Certs: reloader,
		Metrics: logins.Metrics, Log: log}
	ts.Reloader = logins.Reloader()
	reloader.Log = ts.Log
	ts.settings = Settings{
		StorageRoot:         ts.storage,
		TLSMode:             serverconfig.TLSRequired,
		MinTLSVersion:       serverconfig.TLSVersion12,
		RequireSessionReuse: true,
		PassivePorts:        randomPortRange(),
		IdleTimeout:         time.Minute,
		LoginTimeout:        10 * time.Second,
	}
	for _, c := range change {
		c(&ts.settings)
	}
	ts.SetSettings(ts.settings)
	ts.addr = ts.serve(t, ts.Serve)
	ts.implicitAddr = ts.serve(t, ts.ServeImplicitTLS)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ts.Shutdown(ctx)
	})
	return ts
}

func (ts *testServer) serve(t *testing.T, serve func(net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return servertest.Serve(t, ln, serve)
}

// listenIPv6 adds explicit and implicit listeners on [::1] for tests with IPv6 clients, and returns their
// addresses; it skips the test (fails it under PIER_REQUIRE_CLIENTS=1) on a machine without IPv6 loopback.
func (ts *testServer) listenIPv6(t *testing.T) (explicit, implicit string) {
	t.Helper()
	return servertest.Serve(t, testnet.RequireIPv6(t), ts.Serve), servertest.Serve(t, testnet.RequireIPv6(t), ts.ServeImplicitTLS)
}

// clientTLS trusts the test CA and caches TLS sessions, so data connections resume the control connection's.
func (ts *testServer) clientTLS() *tls.Config {
	return &tls.Config{
		RootCAs:            ts.ca.Pool,
		ServerName:         "127.0.0.1",
		ClientSessionCache: tls.NewLRUClientSessionCache(8),
		MinVersion:         tls.VersionTLS12,
	}
}

// dial connects with explicit TLS (AUTH TLS) and the given TLS configuration; nil dials plain FTP.
func (ts *testServer) dial(t *testing.T, tlsConfig *tls.Config, options ...ftp.DialOption) (*ftp.ServerConn, error) {
	t.Helper()
	options = append([]ftp.DialOption{ftp.DialWithTimeout(10 * time.Second)}, options...)
	if tlsConfig != nil {
		options = append(options, ftp.DialWithExplicitTLS(tlsConfig))
	}
	c, err := ftp.Dial(ts.addr, options...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Quit() })
	return c, nil
}

// login connects over explicit TLS and logs in as user, or fails the test.
func (ts *testServer) login(t *testing.T, user string, options ...ftp.DialOption) *ftp.ServerConn {
	t.Helper()
	c, err := ts.dial(t, ts.clientTLS(), options...)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	if err := c.Login(user, passwords[user]); err != nil {
		t.Fatalf("logging in as %s: %v", user, err)
	}
	return c
}

// home is the path of a user's home directory on the server's disk.
func (ts *testServer) home(user string) string {
	if user == "reader" {
		return filepath.Join(ts.storage, "shared")
	}
	return filepath.Join(ts.storage, user)
}

// recorder is the servers' log: it keeps transfer lines and counts messages for the tests, and prints
// everything when PIER_TEST_LOG=1.
type recorder struct {
	mu        sync.Mutex
	transfers []transferLine
	messages  map[string]int
	attrs     []slog.Attr
	shared    *recorder // the recorder WithAttrs derived from; lines are kept there
}

type transferLine struct{ op, path, result, user string }

var debugLog = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})

func (r *recorder) root() *recorder {
	if r.shared != nil {
		return r.shared
	}
	return r
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(ctx context.Context, rec slog.Record) error {
	if os.Getenv("PIER_TEST_LOG") == "1" {
		_ = debugLog.WithAttrs(r.attrs).Handle(ctx, rec) // debugging output only
	}
	root := r.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	if root.messages == nil {
		root.messages = map[string]int{}
	}
	root.messages[rec.Message]++
	if rec.Message != "transfer" {
		return nil
	}
	var line transferLine
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "op":
			line.op = a.Value.String()
		case "path":
			line.path = a.Value.String()
		case "result":
			line.result = a.Value.String()
		case "username":
			line.user = a.Value.String()
		}
		return true
	})
	root.transfers = append(root.transfers, line)
	return nil
}

func (r *recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recorder{attrs: append(append([]slog.Attr{}, r.attrs...), attrs...), shared: r.root()}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// lines returns the transfer lines logged so far.
func (r *recorder) lines() []transferLine {
	root := r.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	return append([]transferLine{}, root.transfers...)
}

// count returns how many times msg was logged so far.
func (r *recorder) count(msg string) int {
	root := r.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	return root.messages[msg]
}

// waitFor waits until msg has been logged n times, or fails the test after 20 s (a hung server, not a slow one).
func (r *recorder) waitFor(t *testing.T, msg string, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); r.count(msg) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server logged %q %d times, want %d", msg, r.count(msg), n)
		}
	}
}
