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
	"errors"
	"net/netip"
	"sync"
)

// Connection-limit refusals.
var (
	ErrTooManyConnections = errors.New("server connection limit reached")
	ErrTooManyFromAddress = errors.New("connection limit for this address reached")
)

// Limiter counts open connections, in total and per client address. Limits of 0 mean no limit.
type Limiter struct {
	mu      sync.Mutex
	max     int
	perAddr int
	total   int
	byAddr  map[netip.Addr]int
}

// NewLimiter returns a limiter with the given limits.
func NewLimiter(maxConnections, maxPerAddress int) *Limiter {
	return &Limiter{max: maxConnections, perAddr: maxPerAddress, byAddr: map[netip.Addr]int{}}
}

// SetLimits changes the limits; connections already open are never closed by a lower limit.
func (l *Limiter) SetLimits(maxConnections, maxPerAddress int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.max, l.perAddr = maxConnections, maxPerAddress
}

// Acquire takes a slot for a connection from addr. The returned release must be called once when the connection
// closes; calling it again does nothing.
func (l *Limiter) Acquire(addr netip.Addr) (release func(), err error) {
	addr = addr.Unmap()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.total >= l.max {
		return nil, ErrTooManyConnections
	}
	if l.perAddr > 0 && l.byAddr[addr] >= l.perAddr {
		return nil, ErrTooManyFromAddress
	}
	l.total++
	l.byAddr[addr]++
	var once sync.Once
	return func() { once.Do(func() { l.release(addr) }) }, nil
}

func (l *Limiter) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
}

// Open is the number of connections holding a slot.
func (l *Limiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}
