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

package sftp

import (
	"net"
	"sync/atomic"
	"time"
)

// idleConn enforces the two time limits of a connection: until login, one fixed deadline for the handshake and
// authentication together; after it, an idle timeout that every read or write pushes back.
type idleConn struct {
	net.Conn
	idle atomic.Int64 // nanoseconds; 0 until login, then the idle timeout (or -1 for none)
}

func newIdleConn(conn net.Conn, loginTimeout time.Duration) *idleConn {
	if loginTimeout > 0 {
		_ = conn.SetDeadline(time.Now().Add(loginTimeout)) // fails only on a closed conn, which the read reports
	}
	return &idleConn{Conn: conn}
}

// loggedIn ends the login deadline and starts the idle timeout (0 means none).
func (c *idleConn) loggedIn(idleTimeout time.Duration) {
	if idleTimeout <= 0 {
		c.idle.Store(-1)
		_ = c.SetDeadline(time.Time{})
		return
	}
	c.idle.Store(int64(idleTimeout))
	c.extend()
}

func (c *idleConn) extend() {
	if d := time.Duration(c.idle.Load()); d > 0 {
		_ = c.SetDeadline(time.Now().Add(d))
	}
}

func (c *idleConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.extend()
	}
	return n, err
}

func (c *idleConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.extend()
	}
	return n, err
}
