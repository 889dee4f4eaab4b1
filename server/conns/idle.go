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
	"sync/atomic"
	"time"
)

// IdleDeadline keeps a connection's deadline an idle timeout ahead of its last activity, without paying for a
// SetDeadline on every read and write: that call updates a runtime timer under a lock, and a transfer reads or
// writes every few microseconds (profiles showed it per SFTP reply and per FTP data block). The deadline is
// moved at most once per slack (a tenth of the timeout, at most a second) and set to the timeout plus the
// slack, so a connection is closed after between idle and idle+slack without activity: never earlier than
// the timeout says.
type IdleDeadline struct {
	conn interface{ SetDeadline(time.Time) error }
	idle atomic.Int64 // nanoseconds; 0 or less: no idle timeout
	// next is when (unix nanoseconds) the deadline is due to be moved again.
	next atomic.Int64
}

// maxSlack bounds how late an idle connection may be closed.
const maxSlack = time.Second

// NewIdleDeadline manages conn's deadline; it sets none until Start.
func NewIdleDeadline(conn interface{ SetDeadline(time.Time) error }) *IdleDeadline {
	return &IdleDeadline{conn: conn}
}

// Start sets the idle timeout and the first deadline; 0 or less clears the deadline for good.
func (d *IdleDeadline) Start(idle time.Duration) {
	d.idle.Store(int64(idle))
	if idle <= 0 {
		_ = d.conn.SetDeadline(time.Time{}) // fails only on a closed conn, which the next I/O reports
		return
	}
	d.next.Store(0)
	d.Touch()
}

// Touch records activity: it pushes the deadline back when it is due to move.
func (d *IdleDeadline) Touch() {
	idle := time.Duration(d.idle.Load())
	if idle <= 0 {
		return
	}
	now := time.Now()
	next := d.next.Load()
	if now.UnixNano() < next || !d.next.CompareAndSwap(next, now.Add(slack(idle)).UnixNano()) {
		return // moved recently, or another goroutine is moving it right now
	}
	_ = d.conn.SetDeadline(now.Add(idle + slack(idle))) // fails only on a closed conn, which the next I/O reports
}

func slack(idle time.Duration) time.Duration { return min(idle/10, maxSlack) }
