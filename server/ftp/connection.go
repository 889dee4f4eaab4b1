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
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/session"
)

// connection is one client's control connection and everything hanging off it: passive listeners, data
// connections and open files. Closing it closes all of them, which is how revoked sessions, idle sessions and
// shutdown end a client at once, even in the middle of a transfer.
type connection struct {
	raw    net.Conn
	remote netip.AddrPort
	log    *slog.Logger
	tlsID  uint64 // the connection's id in Server.tickets; 0 without TLS

	lastActive atomic.Int64 // unix nanoseconds of the last byte on the control or a data connection
	loggedIn   atomic.Bool
	transfers  sync.WaitGroup // files opened for transfers and not closed yet

	mu      sync.Mutex
	closers map[io.Closer]struct{}
	closed  bool
}

func newConnection(raw net.Conn, log *slog.Logger) *connection {
	c := &connection{raw: raw, remote: session.RemoteAddr(raw), log: log, closers: map[io.Closer]struct{}{}}
	c.touch()
	return c
}

func (c *connection) touch() { c.lastActive.Store(time.Now().UnixNano()) }

// track registers a passive listener or data connection to close with the connection. Something tracked after
// the connection closed is closed at once: the session is over and nothing may outlive it.
func (c *connection) track(x io.Closer) {
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.closers[x] = struct{}{}
	}
	c.mu.Unlock()
	if closed {
		_ = x.Close() // its error says nothing useful about a session that ended
	}
}

// untrack forgets something that closed by itself.
func (c *connection) untrack(x io.Closer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.closers, x)
}

// closeTracked is the Close of something tracked: the first call forgets x and closes it with closeFn, later ones
// do nothing, whether the client, ftpserverlib or closeAll closes it first.
func (c *connection) closeTracked(once *sync.Once, x io.Closer, closeFn func() error) error {
	var err error
	once.Do(func() {
		c.untrack(x)
		err = closeFn()
	})
	return err
}

// closeAll ends the connection: the control connection, passive listeners and data connections. ftpserverlib's
// goroutines then see their reads and writes fail and finish. It is safe to call more than once.
func (c *connection) closeAll() {
	c.mu.Lock()
	c.closed = true
	closers := make([]io.Closer, 0, len(c.closers))
	for x := range c.closers {
		closers = append(closers, x)
	}
	c.mu.Unlock()
	_ = c.raw.Close() // errors only say it was closed already
	for _, x := range closers {
		_ = x.Close()
	}
}

// watchIdle closes the connection once neither the control connection nor any data connection or file has moved
// a byte for idle. ftpserverlib has an idle timeout for the control connection only, and suspends it while a
// transfer is open, so a client that stalls a transfer (or a TLS handshake on a data connection, or an active-mode
// connection it accepted and never reads) would otherwise hold the session forever.
func (c *connection) watchIdle(idle time.Duration) (stop func()) {
	if idle <= 0 {
		return func() {}
	}
	var stopped atomic.Bool
	var timer *time.Timer
	check := func() {
		if stopped.Load() {
			return
		}
		quiet := time.Since(time.Unix(0, c.lastActive.Load()))
		if quiet >= idle {
			c.log.Info("idle timeout: no activity on the control or data connections; closing the session",
				"idle", idle)
			c.closeAll()
			return
		}
		timer.Reset(idle - quiet)
	}
	timer = time.AfterFunc(idle, check)
	return func() {
		stopped.Store(true)
		timer.Stop()
	}
}

// handleConn serves one client connection from the first byte to the end. A panic in it ends only this
// connection. ftpserverlib recovers panics in command handlers itself; the filter and driver callbacks it calls
// outside them recover on their own.
func (s *Server) handleConn(conn *connection, implicit bool) {
	defer func() {
		if r := recover(); r != nil {
			conn.log.Error("panic while serving a connection; connection closed", "panic", r, "stack", string(debug.Stack()))
		}
		conn.closeAll()
	}()
	defer s.Metrics.ConnectionOpened(protocol)()

	if err := s.Auth.Admit(conn.remote.Addr()); err != nil {
		s.reject(conn, implicit, "admission", err)
		return
	}
	release, err := s.Limiter.Acquire(conn.remote.Addr())
	if err != nil {
		s.reject(conn, implicit, "limit", err)
		return
	}
	defer release()

	settings := *s.settings.Load()
	if err := conn.raw.SetDeadline(time.Now().Add(settings.LoginTimeout)); err != nil {
		return // closed already
	}
	controlTLS, dataTLS, closeTLS := s.connectionTLS(conn, settings, implicit)
	defer closeTLS()
	ctrl := newControlConn(conn, controlPolicy{
		requireTLS: !implicit && settings.TLSMode == serverconfig.TLSRequired,
		implicit:   implicit,
		tlsConfig:  controlTLS,
		activeMode: settings.ActiveMode,
		passiveIPv4: func() (netip.Addr, error) {
			return s.passiveIPv4(localAddr(conn.raw).Addr())
		},
	}, time.Now().Add(settings.LoginTimeout))
	if implicit {
		if err := ctrl.startTLS(); err != nil {
			conn.log.Debug("implicit TLS handshake failed", "error", err)
			return
		}
	}

	driver := newMainDriver(s, conn, ctrl, settings, implicit, dataTLS)
	lib := ftpserver.NewFtpServer(driver)
	lib.Logger = slog.New(quietHandler{conn.log.Handler()}).With("component", "ftpserverlib")
	if err := lib.Listen(); err != nil {
		conn.log.Error("starting the FTP session", "error", err)
		return
	}
	// Serve hands the connection to ftpserverlib's command loop and returns once ClientDisconnected closed the
	// one-connection listener.
	if err := lib.Serve(); err != nil {
		conn.log.Error("serving the FTP session", "error", err)
	}
	driver.finish()
}

// singleListener yields one connection, then blocks until closed: ftpserverlib serves what its listener
// accepts, and this package gives it one connection per server.
type singleListener struct {
	conn   chan net.Conn
	addr   net.Addr
	closed chan struct{}
	once   sync.Once
}

func newSingleListener(conn net.Conn) *singleListener {
	l := &singleListener{conn: make(chan net.Conn, 1), addr: conn.LocalAddr(), closed: make(chan struct{})}
	l.conn <- conn
	return l
}

func (l *singleListener) Accept() (net.Conn, error) {
	select {
	case conn := <-l.conn:
		return conn, nil
	default:
	}
	<-l.closed
	// ftpserverlib's Serve returns quietly only for this exact error.
	return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
}

func (l *singleListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *singleListener) Addr() net.Addr { return l.addr }
