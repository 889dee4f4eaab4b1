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
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

const (
	// loginLinger is how long the TLS sessions of a login (a user from one client address) stay resumable on
	// data connections after the last control connection of that login closed. A client with a shared session
	// cache may still hold a ticket of a connection it closed; any new control connection gives it a fresh
	// ticket before its first data connection, so this only needs to cover stragglers.
	loginLinger = 10 * time.Minute
	// maxClosedPerLogin bounds how many closed connections of one open login keep their sessions resumable. A
	// client's cache holds the ticket stored last; for it to belong to an evicted connection, that many
	// connections of the same login must have closed since, all of them opened before it.
	maxClosedPerLogin = 256
	// sweepEvery is how often expired logins are looked for.
	sweepEvery = time.Minute
)

// ticketIssuerTag starts the SessionState.Extra entry that names the control connection a ticket was issued
// to. crypto/tls asks for recognizable, versioned entries in Extra.
const ticketIssuerTag = "pier-ftp-issuer-v1:"

// Why a data connection's TLS session is not resumed; the log says which.
var (
	errIssuerUnknown    = errors.New("the TLS session was issued to a connection this server no longer knows")
	errIssuerNoLogin    = errors.New("the TLS session was issued to a connection that never logged in")
	errIssuerOtherLogin = errors.New("the TLS session was issued to a connection of another user or client address")
	errOwnerNoLogin     = errors.New("the data connection's control connection is not logged in")
	errWaitTimedOut     = errors.New("the connection the TLS session was issued to did not log in in time")
)

// ticketIssuers remembers, for every control connection with TLS, its client address and who logged in on it,
// so that a session ticket (which names the control connection it was issued to) can be traced back to a
// login when a data connection resumes it. Tickets are encrypted with keys shared by the whole server, so any
// connection can read them; this registry decides which of them it may resume. See connectionTLS for the rule.
//
// The zero value is ready to use.
type ticketIssuers struct {
	// keys encrypts and decrypts session tickets. Only its automatically rotated ticket keys are used: crypto/tls
	// makes a new key every 24 hours and drops keys after 7 days, as for any Go TLS server.
	keys tls.Config

	mu        sync.Mutex
	next      uint64
	issuers   map[uint64]*issuer
	logins    map[loginKey]*login
	lastSweep time.Time
	now       func() time.Time // time.Now unless a test sets it
}

// issuer is one control connection with TLS.
type issuer struct {
	addr    netip.Addr
	login   *login        // nil until the connection logs in
	settled chan struct{} // closed once the connection logged in or closed, whichever comes first
	closed  bool
}

// loginKey names a login: one user from one client address.
type loginKey struct {
	addr netip.Addr
	user string
}

// login is the set of control connections logged in as one user from one address.
type login struct {
	key       loginKey
	open      int       // control connections of this login still open
	closedIDs []uint64  // closed connections whose sessions are still resumable, oldest first
	idleSince time.Time // when open last dropped to zero
}

func (r *ticketIssuers) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// open registers a new control connection from addr and returns its issuer id (never 0).
func (r *ticketIssuers) open(addr netip.Addr) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.issuers == nil {
		r.issuers, r.logins = map[uint64]*issuer{}, map[loginKey]*login{}
	}
	r.sweepLocked()
	r.next++
	r.issuers[r.next] = &issuer{addr: addr.Unmap(), settled: make(chan struct{})}
	return r.next
}

// loggedIn records that connection id logged in as user.
func (r *ticketIssuers) loggedIn(id uint64, user string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	is := r.issuers[id]
	if is == nil || is.login != nil || is.closed {
		return
	}
	key := loginKey{addr: is.addr, user: user}
	l := r.logins[key]
	if l == nil {
		l = &login{key: key}
		r.logins[key] = l
	}
	l.open++
	is.login = l
	close(is.settled)
}

// closed records that connection id closed. The sessions of a connection that never logged in are forgotten at
// once; those of a logged-in one stay resumable by its login (see loginLinger and maxClosedPerLogin).
func (r *ticketIssuers) closed(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	is := r.issuers[id]
	if is == nil || is.closed {
		return
	}
	is.closed = true
	l := is.login
	if l == nil {
		close(is.settled)
		delete(r.issuers, id)
		return
	}
	l.open--
	l.closedIDs = append(l.closedIDs, id)
	if len(l.closedIDs) > maxClosedPerLogin {
		delete(r.issuers, l.closedIDs[0])
		l.closedIDs = l.closedIDs[1:]
	}
	if l.open == 0 {
		l.idleSince = r.clock()
	}
	r.sweepLocked()
}

// sweepLocked forgets logins whose last connection closed more than loginLinger ago, at most once a sweepEvery.
func (r *ticketIssuers) sweepLocked() {
	now := r.clock()
	if now.Sub(r.lastSweep) < sweepEvery {
		return
	}
	r.lastSweep = now
	for key, l := range r.logins {
		if l.open == 0 && now.Sub(l.idleSince) >= loginLinger {
			for _, id := range l.closedIDs {
				delete(r.issuers, id)
			}
			delete(r.logins, key)
		}
	}
}

// resumable reports whether a data connection of control connection owner may resume a session issued to
// control connection issuerID: both must be logged in as the same user from the same client address. When the
// issuer has not logged in yet (a client that opens a sibling connection stores its ticket right after the
// handshake, before USER and PASS), it calls waiting and waits for that login for at most wait; with wait 0 it
// refuses at once.
func (r *ticketIssuers) resumable(issuerID, owner uint64, wait time.Duration, waiting func()) error {
	r.mu.Lock()
	is, own := r.issuers[issuerID], r.issuers[owner]
	switch {
	case own == nil || own.login == nil: // a data connection exists only after login; be safe anyway
		r.mu.Unlock()
		return errOwnerNoLogin
	case is == nil:
		r.mu.Unlock()
		return errIssuerUnknown
	}
	r.mu.Unlock()
	select {
	case <-is.settled:
	default:
		if wait <= 0 {
			return errIssuerNoLogin
		}
		waiting()
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-is.settled:
		case <-timer.C:
			return errWaitTimedOut
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case is.login == nil:
		return errIssuerNoLogin
	case r.issuers[issuerID] != is: // forgotten while waiting
		return errIssuerUnknown
	case is.login != own.login:
		return fmt.Errorf("%w (%s from %s)", errIssuerOtherLogin, is.login.key.user, is.login.key.addr)
	}
	return nil
}

// withIssuer adds the Extra entry naming the control connection a ticket is issued to.
func withIssuer(ss *tls.SessionState, id uint64) {
	entry := binary.BigEndian.AppendUint64([]byte(ticketIssuerTag), id)
	ss.Extra = append(ss.Extra, entry)
}

// issuerOf returns the control connection a ticket was issued to. A ticket without exactly one such entry was
// not made by this package and is not resumed.
func issuerOf(ss *tls.SessionState) (uint64, bool) {
	var id uint64
	found := 0
	for _, e := range ss.Extra {
		if len(e) == len(ticketIssuerTag)+8 && string(e[:len(ticketIssuerTag)]) == ticketIssuerTag {
			id = binary.BigEndian.Uint64(e[len(ticketIssuerTag):])
			found++
		}
	}
	return id, found == 1 && id != 0
}
