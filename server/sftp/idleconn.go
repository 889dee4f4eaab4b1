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
	"time"

	"github.com/pier-dev/pier/server/conns"
)

// idleConn enforces the two time limits of a connection: until login, one fixed deadline for the handshake and
// authentication together; after it, an idle timeout that reads and writes push back (conns.IdleDeadline, which
// moves the deadline at most once per second or so rather than at every SSH packet).
type idleConn struct {
	net.Conn
	deadline *conns.IdleDeadline // inactive (no timeout) until loggedIn
}

func newIdleConn(conn net.Conn, loginTimeout time.Duration) *idleConn {
	if loginTimeout > 0 {
		_ = conn.SetDeadline(time.Now().Add(loginTimeout)) // fails only on a closed conn, which the read reports
	}
	return &idleConn{Conn: conn, deadline: conns.NewIdleDeadline(conn)}
}

// loggedIn ends the login deadline and starts the idle timeout (0 means none).
func (c *idleConn) loggedIn(idleTimeout time.Duration) { c.deadline.Start(idleTimeout) }

func (c *idleConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.deadline.Touch()
	}
	return n, err
}

func (c *idleConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.deadline.Touch()
	}
	return n, err
}
