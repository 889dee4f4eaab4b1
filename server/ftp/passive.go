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
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/pier-dev/pier/server/conns"
	"github.com/pier-dev/pier/server/session"
	"github.com/pier-dev/pier/server/vfs"
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

// publicIP is the address announced in the PASV reply ftpserverlib is writing: the one the control filter found
// for this PASV (see passiveIPv4). EPSV carries no address and works for both IP families.
func (d *mainDriver) publicIP(ftpserver.ClientContext) (string, error) {
	addr := d.ctrl.pasvAddr
	d.ctrl.pasvAddr = netip.Addr{}
	if !addr.IsValid() {
		// The filter checks every PASV of a logged-in client first, so this is a bug; never announce a guess.
		// ftpserverlib neither answers with the listener nor closes it when this fails; do it here, or each such
		// PASV would hold a passive port until the session ends.
		if d.lastPassive != nil {
			_ = d.lastPassive.Close() // unused; its error is of no interest
		}
		d.conn.log.Error("PASV reached ftpserverlib without an address from the control filter")
		return "", errors.New("no passive address for this PASV")
	}
	return addr.String(), nil
}

// passiveIPv4 is the address PASV announces to a client that came over IPv4 to the local address local: the
// configured IPv4 address, else the IPv4 address of a configured host name (looked up at each PASV, read from
// the current settings), else, with no public address configured at all, local itself. When public addresses
// are configured but none of them is IPv4, there is nothing PASV can announce: local is the pod's own address,
// which a client outside the cluster cannot reach, so the client is told to use EPSV instead.
func (s *Server) passiveIPv4(local netip.Addr) (netip.Addr, error) {
	configured := s.settings.Load().PublicAddresses
	if len(configured) == 0 {
		if !local.Is4() {
			return netip.Addr{}, fmt.Errorf("PASV needs an IPv4 address but this connection arrived on %s", local)
		}
		return local, nil
	}
	for _, a := range configured {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return resolveIPv4(a)
		}
		if ip = ip.Unmap(); ip.Is4() {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("the passive public addresses %v hold no IPv4 address, the only kind PASV can announce", configured)
}

func resolveIPv4(host string) (netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolving the passive public address %s: %w", host, err)
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("the passive public address %s has no IPv4 address", host)
	}
	return ips[0].Unmap(), nil
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
	return l.conn.closeTracked(&l.closeOnce, l, l.Listener.Close)
}

// dataConn is a data connection with an idle timeout that every byte pushes back, and that counts as activity
// of its session. ftpserverlib sets no deadline on data connections, so a client that stops reading or
// writing (or never finishes the TLS handshake) would otherwise hold the transfer forever.
type dataConn struct {
	net.Conn
	conn      *connection
	idle      time.Duration
	deadline  *conns.IdleDeadline
	closeOnce sync.Once
}

func newDataConn(raw net.Conn, conn *connection, idle time.Duration) *dataConn {
	d := &dataConn{Conn: raw, conn: conn, idle: idle, deadline: conns.NewIdleDeadline(raw)}
	d.deadline.Start(idle)
	conn.track(d)
	return d
}

// active records that bytes moved: for the session's idle timeout and the connection's deadline.
func (d *dataConn) active() {
	d.conn.touch()
	d.deadline.Touch()
}

func (d *dataConn) Read(b []byte) (int, error) {
	n, err := d.Conn.Read(b)
	if n > 0 {
		d.active()
	}
	return n, err
}

func (d *dataConn) Write(b []byte) (int, error) {
	n, err := d.Conn.Write(b)
	if n > 0 {
		d.active()
	}
	return n, err
}

// spliceInto stores what the client sends in f until the client ends the data connection: with splice(2) from
// the TCP connection into the file, so the bytes are not copied through this process. A splice call returns
// only once its whole chunk has arrived, so it goes a chunk at a time, sized by a pacer, and the activity is
// recorded after each.
func (d *dataConn) spliceInto(f *vfs.File) (int64, error) {
	p := pacer{idle: d.idle}
	var total int64
	for {
		began := time.Now()
		chunk := &io.LimitedReader{R: d.Conn, N: p.size()}
		n, err := f.ReadFrom(chunk)
		total += n
		if n > 0 {
			d.active()
		}
		if err != nil || chunk.N > 0 { // chunk.N > 0: the client closed before the chunk was full
			return total, err
		}
		p.moved(n, time.Since(began))
	}
}

// minSpliceIdle is the shortest idle timeout with which uploads are spliced. A spliced chunk counts as activity
// only once it is whole, and the first (minZeroCopyChunk) comes before the client's rate is known: with an idle
// timeout of a second, a client sending 20 KB/s without a pause was closed as idle. From a minute on, only a
// client averaging under about a kilobyte a second over that first chunk could be, and later chunks follow its
// rate (pacer).
const minSpliceIdle = time.Minute

// spliceable says whether an upload on a data connection with this idle timeout (0: none) may be spliced.
func spliceable(idle time.Duration) bool { return idle == 0 || idle >= minSpliceIdle }

// The bounds of a splice chunk: a splice(2) call returns only once it has moved all of it.
const (
	minZeroCopyChunk = 64 << 10
	zeroCopyChunk    = 4 << 20
)

// pacer sizes the chunks of a spliced upload so that each takes about an eighth of the idle timeout (at most
// a second) at the rate the last one went: the session's activity is recorded and the deadline moved between
// chunks only, so a slow client that keeps moving bytes must never look idle. A fast transfer gets chunks of
// zeroCopyChunk; the first is minZeroCopyChunk.
type pacer struct {
	idle time.Duration
	next int64
}

func (p *pacer) size() int64 {
	if p.next == 0 {
		return minZeroCopyChunk
	}
	return p.next
}

// moved records that the last chunk of n bytes took took.
func (p *pacer) moved(n int64, took time.Duration) {
	target := time.Second
	if p.idle > 0 {
		target = min(target, p.idle/8)
	}
	if took <= 0 {
		took = time.Microsecond
	}
	next := int64(float64(n) * target.Seconds() / took.Seconds())
	p.next = min(max(next, minZeroCopyChunk), zeroCopyChunk)
}

func (d *dataConn) Close() error { return d.conn.closeTracked(&d.closeOnce, d, d.Conn.Close) }
