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
	"errors"
	"net/netip"
	"testing"
	"time"
)

var (
	clientA = netip.MustParseAddr("192.0.2.10")
	clientB = netip.MustParseAddr("192.0.2.11")
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newIssuers() (*ticketIssuers, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return &ticketIssuers{now: clock.now}, clock
}

// loggedInAs opens a connection from addr and logs it in as user.
func loggedInAs(r *ticketIssuers, addr netip.Addr, user string) uint64 {
	id := r.open(addr)
	r.loggedIn(id, user)
	return id
}

func noWait() {}

// TestResumableRule: a session resumes on the data connection of a connection of the same user and address.
func TestResumableRule(t *testing.T) {
	r, _ := newIssuers()
	owner := loggedInAs(r, clientA, "alice")
	pending := r.open(clientA)
	notLoggedIn := r.open(clientA)
	cases := []struct {
		name          string
		issuer, owner uint64
		want          error
	}{
		{"its own session", owner, owner, nil},
		{"same user and address", loggedInAs(r, clientA, "alice"), owner, nil},
		{"another user, same address", loggedInAs(r, clientA, "bob"), owner, errIssuerOtherLogin},
		{"same user, another address", loggedInAs(r, clientB, "alice"), owner, errIssuerOtherLogin},
		{"a connection not logged in yet, no waiting", pending, owner, errIssuerNoLogin},
		{"an unknown connection", 9999, owner, errIssuerUnknown},
		{"an owner not logged in", owner, notLoggedIn, errOwnerNoLogin},
	}
	for _, tc := range cases {
		if err := r.resumable(tc.issuer, tc.owner, 0, noWait); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// IPv4-mapped IPv6 is the same client as IPv4.
	mapped := loggedInAs(r, netip.AddrFrom16(clientA.As16()), "alice")
	if err := r.resumable(mapped, owner, 0, noWait); err != nil {
		t.Errorf("an IPv4-mapped address of the same client: %v", err)
	}
}

// TestResumableWaits: a session of a connection still logging in is decided once it logged in or closed.
func TestResumableWaits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		settle func(r *ticketIssuers, id uint64)
		want   error
	}{
		{"logs in as the same user", func(r *ticketIssuers, id uint64) { r.loggedIn(id, "alice") }, nil},
		{"logs in as another user", func(r *ticketIssuers, id uint64) { r.loggedIn(id, "bob") }, errIssuerOtherLogin},
		{"closes", func(r *ticketIssuers, id uint64) { r.closed(id) }, errIssuerNoLogin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newIssuers()
			owner := loggedInAs(r, clientA, "alice")
			pending := r.open(clientA)
			waiting := make(chan struct{})
			result := make(chan error, 1)
			go func() { result <- r.resumable(pending, owner, time.Hour, func() { close(waiting) }) }()
			<-waiting
			tc.settle(r, pending)
			if err := <-result; !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
		})
	}
	t.Run("never settles", func(t *testing.T) {
		r, _ := newIssuers()
		owner := loggedInAs(r, clientA, "alice")
		if err := r.resumable(r.open(clientA), owner, time.Millisecond, noWait); !errors.Is(err, errWaitTimedOut) {
			t.Fatalf("%v, want %v", err, errWaitTimedOut)
		}
	})
}

// TestResumableAfterClose: sessions of a closed connection stay with its login while the login has an open
// connection, then loginLinger longer; those of a connection that never logged in go at once.
func TestResumableAfterClose(t *testing.T) {
	r, clock := newIssuers()
	owner := loggedInAs(r, clientA, "alice")
	sibling := loggedInAs(r, clientA, "alice")
	stranger := r.open(clientA)
	r.closed(sibling)
	r.closed(stranger)
	if err := r.resumable(stranger, owner, time.Hour, noWait); !errors.Is(err, errIssuerUnknown) {
		t.Fatalf("a closed connection that never logged in: %v", err)
	}
	clock.t = clock.t.Add(48 * time.Hour)
	r.closed(r.open(clientB)) // sweeps
	if err := r.resumable(sibling, owner, 0, noWait); err != nil {
		t.Fatalf("a closed sibling while the login is open, two days later: %v", err)
	}

	// The login ends; a new connection of it within loginLinger may still resume both sessions.
	r.closed(owner)
	clock.t = clock.t.Add(loginLinger - time.Second)
	next := loggedInAs(r, clientA, "alice")
	for _, id := range []uint64{owner, sibling} {
		if err := r.resumable(id, next, 0, noWait); err != nil {
			t.Fatalf("within loginLinger of the login's end: %v", err)
		}
	}
	r.closed(next)
	clock.t = clock.t.Add(loginLinger)
	late := loggedInAs(r, clientA, "alice") // sweeps
	for _, id := range []uint64{owner, sibling, next} {
		if err := r.resumable(id, late, 0, noWait); !errors.Is(err, errIssuerUnknown) {
			t.Fatalf("loginLinger after the login's end: %v", err)
		}
	}
	if len(r.issuers) != 1 || len(r.logins) != 1 {
		t.Fatalf("%d connections and %d logins remembered, want only the open one", len(r.issuers), len(r.logins))
	}
}

// TestClosedPerLoginBounded: an open login remembers at most maxClosedPerLogin closed connections, the latest.
func TestClosedPerLoginBounded(t *testing.T) {
	r, _ := newIssuers()
	owner := loggedInAs(r, clientA, "alice")
	closed := make([]uint64, 0, maxClosedPerLogin+1)
	for range maxClosedPerLogin + 1 {
		id := loggedInAs(r, clientA, "alice")
		r.closed(id)
		closed = append(closed, id)
	}
	if err := r.resumable(closed[0], owner, 0, noWait); !errors.Is(err, errIssuerUnknown) {
		t.Fatalf("the oldest closed connection: %v", err)
	}
	if err := r.resumable(closed[1], owner, 0, noWait); err != nil {
		t.Fatalf("the oldest one kept: %v", err)
	}
	if len(r.issuers) != maxClosedPerLogin+1 {
		t.Fatalf("%d connections remembered, want %d", len(r.issuers), maxClosedPerLogin+1)
	}
}

// TestIssuerEntry: a ticket must name exactly one issuing connection; entries of other layers are ignored.
// (That the entry survives a real ticket is what TestSessionReuseWithinLogin shows.)
func TestIssuerEntry(t *testing.T) {
	session := func(ids ...uint64) *tls.SessionState {
		ss := &tls.SessionState{Extra: [][]byte{[]byte("another layer's entry"), []byte(ticketIssuerTag)}}
		for _, id := range ids {
			withIssuer(ss, id)
		}
		return ss
	}
	if id, ok := issuerOf(session(42)); !ok || id != 42 {
		t.Fatalf("issuer %d, %v; want 42", id, ok)
	}
	for _, ids := range [][]uint64{nil, {1, 2}, {0}} {
		if id, ok := issuerOf(session(ids...)); ok {
			t.Errorf("a ticket naming %v was read as issued to %d", ids, id)
		}
	}
}
