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

// Package ftp is pier-server's FTP front end: plain FTP, explicit FTPS (AUTH TLS) and implicit FTPS, served by
// github.com/fclairamb/ftpserverlib over each user's jailed storage.
//
// ftpserverlib is built around one server with one driver for every client. This package instead runs one
// ftpserverlib server per accepted connection, on a listener that yields just that connection, so that every
// driver callback (TLS configuration, passive listeners, login) knows which client it serves. That is what
// makes the per-connection rules possible: TLS session reuse bound to the connection's login, passive data
// connections only from the control connection's address, login deadlines, and closing a revoked user's
// session with its data connections.
//
// Between the client and ftpserverlib sits a control-connection filter (control.go) that terminates TLS itself
// and sees every command, so that the TLS policy (no login before AUTH TLS, no PROT C, no clear data
// connections) is answered with proper FTP replies instead of relying on ftpserverlib's partial checks.
package ftp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/auth"
	"github.com/pier-dev/pier/server/certs"
	"github.com/pier-dev/pier/server/conns"
	"github.com/pier-dev/pier/server/metrics"
	"github.com/pier-dev/pier/server/session"
)

const protocol = "ftp"

// Settings are the parts of the configuration the FTP server reads; a config reload swaps them. A connection
// takes its settings when it is accepted, except the passive port range and the announced public address,
// which every PASV/EPSV reads afresh, so that an address discovered later reaches sessions already open.
type Settings struct {
	StorageRoot string
	// TLSMode applies to the explicit listener (Serve); the implicit listener always requires TLS.
	TLSMode             serverconfig.TLSMode
	MinTLSVersion       serverconfig.TLSVersion
	RequireSessionReuse bool
	PassivePorts        serverconfig.PortRange
	// PublicAddresses are where clients reach the server, at most one per IP family, or one host name (see
	// config.Passive). PASV announces the IPv4 one; empty announces the local address of the client's control
	// connection.
	PublicAddresses []string
	ActiveMode      bool
	IdleTimeout     time.Duration
	LoginTimeout    time.Duration
}

// NewSettings takes the FTP settings from a validated configuration with an ftp section.
func NewSettings(cfg *serverconfig.Config) Settings {
	f := cfg.FTP
	return Settings{
		StorageRoot:         cfg.Storage.Root,
		TLSMode:             f.TLS.Mode,
		MinTLSVersion:       f.TLS.MinVersion,
		RequireSessionReuse: f.TLS.SessionReuseRequired(),
		PassivePorts:        f.Passive.PortRange,
		PublicAddresses:     f.Passive.Addresses(),
		ActiveMode:          f.Active.Enabled,
		IdleTimeout:         cfg.Limits.IdleTimeout.Duration,
		LoginTimeout:        cfg.Limits.LoginTimeout.Duration,
	}
}

// Server accepts FTP and FTPS connections and serves logged-in users their jail.
type Server struct {
	Auth     *auth.Authenticator
	Limiter  *auth.Limiter
	Sessions *auth.Sessions
	// Certs provides the TLS certificate; nil serves plain FTP only (TLSMode must then be Disabled and there must
	// be no implicit listener).
	Certs   *certs.Reloader
	Metrics *metrics.Metrics
	Log     *slog.Logger

	settings atomic.Pointer[Settings]
	tickets  ticketIssuers // who each TLS session was issued to; see connectionTLS

	conns conns.Tracker
}

// Timeouts used when Settings leave them zero (the config always sets them; this guards other callers).
const (
	defaultIdleTimeout  = 5 * time.Minute
	defaultLoginTimeout = 30 * time.Second
)

// SetSettings replaces the settings for connections accepted from now on (and the passive port range and public
// address for every session's next PASV).
func (s *Server) SetSettings(settings Settings) {
	if settings.IdleTimeout <= 0 {
		settings.IdleTimeout = defaultIdleTimeout
	}
	if settings.LoginTimeout <= 0 {
		settings.LoginTimeout = defaultLoginTimeout
	}
	s.settings.Store(&settings)
}

// Serve accepts plain FTP and explicit FTPS (AUTH TLS) connections on ln until ln is closed.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, false) }

// ServeImplicitTLS accepts implicit FTPS connections (TLS from the first byte) on ln until ln is closed.
func (s *Server) ServeImplicitTLS(ln net.Listener) error { return s.serve(ln, true) }

func (s *Server) serve(ln net.Listener, implicit bool) error {
	settings := s.settings.Load()
	if settings == nil {
		return errors.New("ftp: SetSettings must be called before Serve")
	}
	if s.Certs == nil && (implicit || settings.TLSMode != serverconfig.TLSDisabled) {
		// Without a certificate AUTH TLS would be refused, so Required mode would let nobody in.
		return errors.New("ftp: FTPS needs a certificate (Server.Certs); set the TLS mode to Disabled to serve plain FTP only")
	}
	return s.conns.Serve(ln, protocol, func(raw net.Conn) (closeFn, serve func()) {
		conn := newConnection(raw, s.Log.With("protocol", protocol, "remote", session.RemoteAddr(raw).String()))
		return conn.closeAll, func() { s.handleConn(conn, implicit) }
	})
}

// Shutdown waits for open connections to finish until ctx is done, then closes the rest with their data
// connections. Close the listeners first so no new connection arrives.
func (s *Server) Shutdown(ctx context.Context) { s.conns.Shutdown(ctx) }

// reject refuses a connection before login. On the explicit listener the client gets a 421 reply first, so that
// it shows a reason instead of a dropped connection; an implicit-TLS client could not read a plaintext reply.
func (s *Server) reject(conn *connection, implicit bool, reason string, err error) {
	label, reply := reason, "421 Service not available, closing control connection."
	switch {
	case errors.Is(err, auth.ErrBanned):
		label = "banned"
	case errors.Is(err, auth.ErrSourceNotAllowed):
		label = "source"
	case errors.Is(err, auth.ErrTooManyConnections), errors.Is(err, auth.ErrTooManyFromAddress):
		reply = "421 Too many connections, try again later."
	}
	s.Metrics.ConnectionRejected(protocol, label)
	conn.log.Info("connection refused", "reason", err.Error())
	if !implicit {
		_ = conn.raw.SetWriteDeadline(time.Now().Add(2 * time.Second)) // a courtesy; never wait on it
		_, _ = conn.raw.Write([]byte(reply + "\r\n"))
	}
}

func localAddr(conn net.Conn) netip.AddrPort {
	if tcp, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		return netip.AddrPortFrom(tcp.AddrPort().Addr().Unmap(), tcp.AddrPort().Port())
	}
	ap, _ := netip.ParseAddrPort(conn.LocalAddr().String())
	return ap
}
