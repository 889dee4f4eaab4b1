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

package auth

import (
	"net/netip"
	"testing"
	"time"
)

// fakeClock is a settable clock, so ban expiry is tested without sleeping.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestDefender(maxFailures int, ban time.Duration) (*Defender, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	d := NewDefender(maxFailures, ban)
	d.now = clock.now
	return d, clock
}

func TestDefenderBansAfterMaxFailures(t *testing.T) {
	d, clock := newTestDefender(3, 15*time.Minute)
	attacker := netip.MustParseAddr("203.0.113.9")
	other := netip.MustParseAddr("198.51.100.1")

	for i := 1; i <= 2; i++ {
		if d.RecordFailure(attacker) {
			t.Fatalf("banned after %d failures, want 3", i)
		}
	}
	if d.IsBanned(attacker) {
		t.Fatal("banned before reaching the limit")
	}
	if !d.RecordFailure(attacker) {
		t.Fatal("third failure did not ban")
	}
	if !d.IsBanned(attacker) {
		t.Fatal("IsBanned false right after the ban")
	}
	if d.IsBanned(other) {
		t.Fatal("an unrelated address is banned")
	}
	// The IPv4-mapped IPv6 form is the same client.
	if !d.IsBanned(netip.MustParseAddr("::ffff:203.0.113.9")) {
		t.Fatal("the IPv4-mapped form of a banned address is not banned")
	}
	if got := d.Banned(); got != 1 {
		t.Fatalf("Banned() = %d, want 1", got)
	}

	clock.advance(15*time.Minute - time.Second)
	if !d.IsBanned(attacker) {
		t.Fatal("ban ended early")
	}
	clock.advance(time.Second)
	if d.IsBanned(attacker) {
		t.Fatal("ban did not end after banDuration")
	}
	if got := d.Banned(); got != 0 {
		t.Fatalf("Banned() = %d after expiry, want 0", got)
	}
}

func TestDefenderWindowAndSuccess(t *testing.T) {
	d, clock := newTestDefender(2, time.Minute)
	addr := netip.MustParseAddr("2001:db8::7")

	d.RecordFailure(addr)
	clock.advance(time.Minute) // the first failure falls out of the window
	if d.RecordFailure(addr) {
		t.Fatal("failures further apart than banDuration were counted together")
	}
	d.RecordSuccess(addr)
	if d.RecordFailure(addr) {
		t.Fatal("a successful login did not reset the failure count")
	}
	if !d.RecordFailure(addr) {
		t.Fatal("two failures in the window did not ban")
	}
}

func TestDefenderDisabledAndLimitChanges(t *testing.T) {
	d, _ := newTestDefender(0, time.Minute)
	addr := netip.MustParseAddr("192.0.2.1")
	for range 100 {
		if d.RecordFailure(addr) {
			t.Fatal("maxFailures 0 banned an address")
		}
	}
	d.SetLimits(1, time.Hour)
	if !d.RecordFailure(addr) {
		t.Fatal("new limit of 1 did not ban on the next failure")
	}
	d.SetLimits(0, time.Minute)
	if !d.IsBanned(addr) {
		t.Fatal("changing limits lifted an existing ban")
	}
}

func TestDefenderMemoryBounded(t *testing.T) {
	d, _ := newTestDefender(5, time.Hour)
	base := netip.MustParseAddr("10.0.0.0").As4()
	for i := range maxTrackedAddresses + 10 {
		a := base
		a[1], a[2], a[3] = byte(i>>16), byte(i>>8), byte(i)
		d.RecordFailure(netip.AddrFrom4(a))
	}
	d.mu.Lock()
	n := len(d.failures)
	d.mu.Unlock()
	if n > maxTrackedAddresses {
		t.Fatalf("tracking %d addresses, bound is %d", n, maxTrackedAddresses)
	}
}
