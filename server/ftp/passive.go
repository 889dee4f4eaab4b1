/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package ftp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/pier-dev/pier/server/session"
)

// resolveTimeout bounds the lookup of a passive public address given as a host name.
const resolveTimeout = 5 * time.Second

// portGetter hands ftpserverlib the passive ports to try, from the current settings at each PASV/EPSV, so a
// reloaded range applies to sessions already open. It walks the whole range from a random start: ftpserverlib's
// own PortRange draws ports at random and can give up on a nearly full range while a port is still free.
type portGetter struct {
	settings func() *Settings
	next     atomic.Uint32
}

func newPortGetter(settings func() *Settings) *portGetter {
	g := &portGetter{settings: settings}
	g.next.Store(rand.Uint32()) //nolint:gosec // spreads sessions over the range; not a secret
	return g
}

// NumberAttempts is how many ports ftpserverlib tries before answering that none is free.
func (g *portGetter) NumberAttempts() int {
	r := g.settings().PassivePorts
	if r.Start <= 0 || r.End < r.Start {
		return 1
	}
	return r.End - r.Start + 1
}

// FetchNext returns the next port to try, as both the announced and the listened port. Without a range it
// returns 0: any free port.
func (g *portGetter) FetchNext() (exposed, listened int, ok bool) {
	r := g.settings().PassivePorts
	if r.Start <= 0 || r.End < r.Start {
		return 0, 0, true
	}
	port := r.Start + int(g.next.Add(1)%uint32(r.End-r.Start+1))
	return port, port, true
}

// publicIP is the address announced in PASV replies: the configured one (read at each PASV), resolved if it is
// a host name, or else the local address of this control connection. PASV can only carry IPv4; EPSV carries no
// address and works everywhere.
func (d *mainDriver) publicIP(ftpserver.ClientContext) (string, error) {
	ip, err := d.announcedAddress()
	if err != nil {
		// ftpserverlib neither answers with the listener nor closes it when this fails; do it here, or each such
		// PASV would hold a passive port until the session ends.
		if d.lastPassive != nil {
			_ = d.lastPassive.Close() // unused; its error is of no interest
		}
		d.conn.log.Warn("PASV refused", "error", err)
		return "", err
	}
	return ip, nil
}

func (d *mainDriver) announcedAddress() (string, error) {
	configured := d.server.settings.Load().PublicAddress
	if configured == "" {
		local := localAddr(d.conn.raw).Addr()
		if !local.Is4() {
			return "", fmt.Errorf("PASV needs an IPv4 address but this connection arrived on %s; use EPSV", local)
		}
		return local.String(), nil
	}
	if ip, err := netip.ParseAddr(configured); err == nil {
		if ip = ip.Unmap(); !ip.Is4() {
			return "", fmt.Errorf("the passive public address %s is not IPv4, which PASV cannot announce; use EPSV", ip)
		}
		return ip.String(), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", configured)
	if err != nil {
		return "", fmt.Errorf("resolving the passive public address %s: %w", configured, err)
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("the passive public address %s has no IPv4 address", configured)
	}
	return ips[0].Unmap().String(), nil
}

// passiveListener accepts data connections from the control connection's address only; see WrapPassiveListener.
type passiveListener struct {
	net.Listener
	conn      *connection
	controlIP netip.Addr
	idle      time.Duration
	closeOnce sync.Once
}

func (l *passiveListener) Accept() (net.Conn, error) {
	for {
		// ftpserverlib puts its wait deadline on the underlying listener, which ends this loop in time.
		raw, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		from := session.RemoteAddr(raw)
		if from.Addr() == l.controlIP {
			return newDataConn(raw, l.conn, l.idle), nil
		}
		l.conn.log.Warn("dropped a passive data connection from another address than the control connection",
			"from", from.String())
		_ = raw.Close() // a stranger's connection; nothing to report to them
	}
}

func (l *passiveListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		l.conn.untrack(l)
		err = l.Listener.Close()
	})
	return err
}

// dataConn is a data connection with an idle timeout that every byte pushes back, and that counts as activity
// of its session. ftpserverlib sets no deadline on data connections, so a client that stops reading or
// writing (or never finishes the TLS handshake) would otherwise hold the transfer forever.
type dataConn struct {
	net.Conn
	conn      *connection
	idle      time.Duration
	closeOnce sync.Once
}

func newDataConn(raw net.Conn, conn *connection, idle time.Duration) *dataConn {
	d := &dataConn{Conn: raw, conn: conn, idle: idle}
	d.extend()
	conn.track(d)
	return d
}

func (d *dataConn) extend() {
	if d.idle > 0 {
		_ = d.SetDeadline(time.Now().Add(d.idle)) // fails only once closed, which the next I/O reports
	}
}

func (d *dataConn) Read(b []byte) (int, error) {
	n, err := d.Conn.Read(b)
	if n > 0 {
		d.conn.touch()
		d.extend()
	}
	return n, err
}

func (d *dataConn) Write(b []byte) (int, error) {
	n, err := d.Conn.Write(b)
	if n > 0 {
		d.conn.touch()
		d.extend()
	}
	return n, err
}

func (d *dataConn) Close() error {
	var err error
	d.closeOnce.Do(func() {
		d.conn.untrack(d)
		err = d.Conn.Close()
	})
	return err
}
