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

// Package servertest is the harness the protocol front ends' tests (server/ftp, server/sftp) share: the login
// machinery server/app wires into both, a listener served for the length of a test, user reloads as a config
// reload applies them, and an SFTP client that closes its SSH connection with it (test/e2e uses that too).
package servertest

import (
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/auth"
	"github.com/pier-dev/pier/server/metrics"
)

// Logins is what a front end's Server needs to log users in and keep track of them, wired as server/app wires
// it: one user table behind the authenticator and the session registry, a defender, a connection limiter without
// limits, and metrics.
type Logins struct {
	Auth     *auth.Authenticator
	Limiter  *auth.Limiter
	Sessions *auth.Sessions
	Metrics  *metrics.Metrics
}

// NewLogins builds Logins for users; maxFailures failed logins ban an address for an hour (0 never bans).
func NewLogins(t testing.TB, users []serverconfig.User, maxFailures int, log *slog.Logger) Logins {
	t.Helper()
	table := auth.NewUsers()
	if err := table.Update(&serverconfig.Config{Users: users}); err != nil {
		t.Fatal(err)
	}
	defender := auth.NewDefender(maxFailures, time.Hour)
	m := metrics.New(defender.Banned)
	return Logins{
		Auth:     &auth.Authenticator{Users: table, Defender: defender},
		Limiter:  auth.NewLimiter(0, 0),
		Sessions: auth.NewSessions(table, log, m),
		Metrics:  m,
	}
}

// Reloader returns what changes l's users while the server runs.
func (l Logins) Reloader() Reloader { return Reloader{users: l.Auth.Users, sessions: l.Sessions} }

// Reloader changes the users of a running server as server/app's Apply does: the new table first, then every
// open session it revokes is ended. A test server embeds it for SetUsers and Reload.
type Reloader struct {
	users    *auth.Users
	sessions *auth.Sessions
}

// SetUsers swaps the user table as a config reload does, and ends revoked sessions.
func (r Reloader) SetUsers(t testing.TB, users []serverconfig.User) {
	t.Helper()
	r.Reload(t, &serverconfig.Config{Users: users})
}

// Reload applies the users and server-wide rules of cfg as a config reload does, and ends the sessions they
// revoke.
func (r Reloader) Reload(t testing.TB, cfg *serverconfig.Config) {
	t.Helper()
	if err := r.users.Update(cfg); err != nil {
		t.Fatal(err)
	}
	r.sessions.CloseRevoked()
}

// Serve runs serve on ln until the test ends, then closes ln and fails the test if serve returned an error
// (Serve returns nil once its listener is closed, so any error is a real one). It returns ln's address. Cleanups
// run last first: register the server's Shutdown before calling Serve, so that the listeners close first, as in
// the server.
func Serve(t testing.TB, ln net.Listener, serve func(net.Listener) error) string {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- serve(ln) }()
	t.Cleanup(func() {
		_ = ln.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// SFTPSession is an SFTP client with its SSH connection.
type SFTPSession struct {
	*sftp.Client
	conn *ssh.Client
}

// DialSFTP logs in over SSH at addr and opens an SFTP session; the caller closes it.
func DialSFTP(addr string, cfg *ssh.ClientConfig) (*SFTPSession, error) {
	conn, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	c, err := sftp.NewClient(conn)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return &SFTPSession{Client: c, conn: conn}, nil
}

// Close ends the SFTP session and the SSH connection under it; sftp.Client.Close alone leaves the connection
// open, and the server then waits for it when it drains on shutdown.
func (s *SFTPSession) Close() error {
	return errors.Join(s.Client.Close(), s.conn.Close())
}
