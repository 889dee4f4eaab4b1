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
	"sync"
	"time"
)

// maxTrackedAddresses bounds the defender's memory: a flood of failures from many addresses must not exhaust it.
const maxTrackedAddresses = 100_000

// Defender bans a client address after too many failed logins, as sftpgo's defender and fail2ban do: after
// maxFailures failures within banDuration, the address is refused for banDuration. Limits can change while it
// runs (config reload) without forgetting who is banned.
type Defender struct {
	mu          sync.Mutex
	maxFailures int // 0 turns banning off
	banDuration time.Duration
	now         func() time.Time
	failures    map[netip.Addr][]time.Time // recent failure times per address, oldest first
	bans        map[netip.Addr]time.Time   // banned until
}

// NewDefender returns a defender; maxFailures 0 never bans.
func NewDefender(maxFailures int, banDuration time.Duration) *Defender {
	return &Defender{
		maxFailures: maxFailures,
		banDuration: banDuration,
		now:         time.Now,
		failures:    map[netip.Addr][]time.Time{},
		bans:        map[netip.Addr]time.Time{},
	}
}

// SetLimits changes the thresholds; existing bans keep their end time.
func (d *Defender) SetLimits(maxFailures int, banDuration time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.maxFailures = maxFailures
	d.banDuration = banDuration
}

// IsBanned reports whether addr is currently refused.
func (d *Defender) IsBanned(addr netip.Addr) bool {
	addr = addr.Unmap()
	d.mu.Lock()
	defer d.mu.Unlock()
	until, ok := d.bans[addr]
	if !ok {
		return false
	}
	if d.now().Before(until) {
		return true
	}
	delete(d.bans, addr)
	return false
}

// RecordFailure counts a failed login from addr and reports whether that failure banned it.
func (d *Defender) RecordFailure(addr netip.Addr) (banned bool) {
	addr = addr.Unmap()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.maxFailures <= 0 {
		return false
	}
	now := d.now()
	if len(d.failures) >= maxTrackedAddresses {
		d.forgetExpiredLocked(now)
	}
	recent := d.failures[addr][:0:0]
	for _, at := range d.failures[addr] {
		if now.Sub(at) < d.banDuration {
			recent = append(recent, at)
		}
	}
	recent = append(recent, now)
	if len(recent) < d.maxFailures {
		d.failures[addr] = recent
		return false
	}
	delete(d.failures, addr)
	d.bans[addr] = now.Add(d.banDuration)
	return true
}

// RecordSuccess forgets addr's failures: a client that logs in correctly starts afresh.
func (d *Defender) RecordSuccess(addr netip.Addr) {
	addr = addr.Unmap()
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.failures, addr)
}

// Banned returns how many addresses are banned now, for metrics.
func (d *Defender) Banned() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.forgetExpiredLocked(d.now())
	return len(d.bans)
}

// forgetExpiredLocked drops failures and bans that no longer count. If the failure table is still full (a
// flood from many addresses), it is cleared rather than allowed to grow without bound; bans are kept.
func (d *Defender) forgetExpiredLocked(now time.Time) {
	for addr, until := range d.bans {
		if !now.Before(until) {
			delete(d.bans, addr)
		}
	}
	for addr, times := range d.failures {
		if len(times) == 0 || now.Sub(times[len(times)-1]) >= d.banDuration {
			delete(d.failures, addr)
		}
	}
	if len(d.failures) >= maxTrackedAddresses {
		clear(d.failures)
	}
}
