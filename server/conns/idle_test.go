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

package conns

import (
	"sync"
	"testing"
	"time"
)

// deadlines records the deadlines set on a connection.
type deadlines struct {
	mu  sync.Mutex
	set []time.Time
}

func (d *deadlines) SetDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.set = append(d.set, t)
	return nil
}

func (d *deadlines) all() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.set...)
}

func TestIdleDeadlineIsNeverEarlierThanTheTimeout(t *testing.T) {
	conn := &deadlines{}
	d := NewIdleDeadline(conn)
	d.Touch() // before Start: no timeout yet, so nothing is set
	if n := len(conn.all()); n != 0 {
		t.Fatalf("Touch before Start set %d deadlines", n)
	}
	const idle = time.Hour
	begin := time.Now()
	d.Start(idle)
	for range 1000 {
		d.Touch() // a transfer's reads and writes, within the same instant
	}
	set := conn.all()
	if len(set) != 1 {
		t.Fatalf("Start and 1000 touches at once set %d deadlines, want 1", len(set))
	}
	if set[0].Before(begin.Add(idle)) || set[0].After(time.Now().Add(idle+maxSlack)) {
		t.Errorf("deadline %v is not between the timeout and the timeout plus the slack from now", set[0].Sub(begin))
	}
}

func TestIdleDeadlineMovesOncePerSlack(t *testing.T) {
	conn := &deadlines{}
	d := NewIdleDeadline(conn)
	const idle = 100 * time.Millisecond // slack: 10 ms
	d.Start(idle)
	last := time.Now()
	for time.Since(last) < 15*time.Millisecond {
		d.Touch()
	}
	lastTouch := time.Now()
	d.Touch()
	set := conn.all()
	if len(set) < 2 {
		t.Fatalf("touches over more than the slack set %d deadlines, want the deadline moved again", len(set))
	}
	// Whatever was skipped, the deadline in force is at least the timeout after the last touch.
	if final := set[len(set)-1]; final.Before(lastTouch.Add(idle)) {
		t.Errorf("the last deadline is %v after the last touch, want at least %v", final.Sub(lastTouch), idle)
	}
}

func TestIdleDeadlineOff(t *testing.T) {
	conn := &deadlines{}
	d := NewIdleDeadline(conn)
	d.Start(0)
	d.Touch()
	set := conn.all()
	if len(set) != 1 || !set[0].IsZero() {
		t.Errorf("Start(0) set %v, want one zero deadline (none)", set)
	}
}
