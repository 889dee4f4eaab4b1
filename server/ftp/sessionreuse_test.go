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
	"io"
	"testing"
)

// pinnedCache offers the same TLS session on every connection and keeps none of the new ones: a client whose
// shared session cache holds a sibling connection's session, without the test depending on which ticket a
// real cache happens to store last.
type pinnedCache struct{ session *tls.ClientSessionState }

func (p pinnedCache) Get(string) (*tls.ClientSessionState, bool) { return p.session, true }
func (pinnedCache) Put(string, *tls.ClientSessionState)          {}

// sessionOf returns a copy of cfg that offers, on every connection, the session cfg's cache holds now.
func sessionOf(t *testing.T, cfg *tls.Config) *tls.Config {
	t.Helper()
	session, ok := cfg.ClientSessionCache.Get(cfg.ServerName)
	if !ok || session == nil {
		t.Fatal("the client holds no TLS session")
	}
	pinned := cfg.Clone()
	pinned.ClientSessionCache = pinnedCache{session}
	return pinned
}

// tlsVariant is a way to reach the server with TLS.
type tlsVariant struct {
	name       string
	maxVersion uint16
	implicit   bool
}

var tlsVariants = []tlsVariant{
	{"explicit TLS 1.3", tls.VersionTLS13, false},
	{"explicit TLS 1.2", tls.VersionTLS12, false},
	{"implicit TLS 1.3", tls.VersionTLS13, true},
	{"implicit TLS 1.2", tls.VersionTLS12, true},
}

// connect opens a control connection with TLS and a session cache of its own, and reads a reply after the
// handshake so that a TLS 1.3 session ticket (sent after the handshake) is in the cache. It does not log in.
func (v tlsVariant) connect(t *testing.T, ts *testServer) (*rawClient, *tls.Config) {
	t.Helper()
	cfg := ts.clientTLS()
	cfg.MaxVersion = v.maxVersion
	var c *rawClient
	if v.implicit {
		c = rawDial(t, ts.implicitAddr, cfg) // the greeting came after the ticket
	} else {
		c = rawDial(t, ts.addr, nil)
		c.authTLS(cfg)
		c.expect(211, "FEAT")
	}
	return c, cfg
}

// loggedIn connects as connect does, logs in as user and turns on protected data connections.
func (v tlsVariant) loggedIn(t *testing.T, ts *testServer, user string) (*rawClient, *tls.Config) {
	t.Helper()
	c, cfg := v.connect(t, ts)
	c.login(user)
	c.expect(200, "PBSZ 0")
	c.expect(200, "PROT P")
	return c, cfg
}

// retrWith downloads f.txt on c's control connection over a data connection whose TLS client uses cfg.
func retrWith(c *rawClient, cfg *tls.Config) ([]byte, int) {
	saved := c.tls
	defer func() { c.tls = saved }()
	c.tls = cfg
	return c.retr("f.txt")
}

// TestSessionReuseWithinLogin: a data connection may resume a TLS session of another control connection of
// the same login (user and client address), open or closed, as clients with one session cache per host do;
// never a session of another user's connection, even from the same address.
func TestSessionReuseWithinLogin(t *testing.T) {
	for _, v := range tlsVariants {
		t.Run(v.name, func(t *testing.T) {
			ts := startServer(t)
			writeHomeFile(t, ts, "alice", "f.txt", []byte("alice's file"))
			owner, _ := v.loggedIn(t, ts, "alice")

			sibling, siblingTLS := v.loggedIn(t, ts, "alice")
			siblingSession := sessionOf(t, siblingTLS)
			if got, code := retrWith(owner, siblingSession); code != 226 || string(got) != "alice's file" {
				t.Fatalf("with a session of the same login: %d %q", code, got)
			}

			other, otherTLS := v.loggedIn(t, ts, "reader")
			refusals := ts.log.count(logNotResumed)
			if got, code := retrWith(owner, sessionOf(t, otherTLS)); code == 226 || len(got) > 0 {
				t.Fatalf("with a session of another user from the same address: %d %q", code, got)
			}
			if ts.log.count(logNotResumed) != refusals+1 {
				t.Fatal("the refusal was not for the session's login")
			}

			// Closed connections keep their sessions for their login, and only for it.
			sibling.expect(221, "QUIT")
			other.expect(221, "QUIT")
			if got, code := retrWith(owner, siblingSession); code != 226 || string(got) != "alice's file" {
				t.Fatalf("with a session of a closed connection of the same login: %d %q", code, got)
			}
			if got, code := retrWith(owner, sessionOf(t, otherTLS)); code == 226 || len(got) > 0 {
				t.Fatalf("with a session of a closed connection of another user: %d %q", code, got)
			}
		})
	}
}

// TestSessionReuseWaitsForLogin: a client that opens a sibling connection stores its session before logging
// in on it, and may resume it at once on another connection's data connection. The server waits for that
// login: the session is accepted if it is the same user's, refused if it is another user's or if the
// connection closes without logging in.
func TestSessionReuseWaitsForLogin(t *testing.T) {
	cases := []struct {
		name   string
		then   func(*rawClient)
		accept bool
	}{
		{"logs in as the same user", func(c *rawClient) { c.login("alice") }, true},
		{"logs in as another user", func(c *rawClient) { c.login("reader") }, false},
		{"closes without logging in", func(c *rawClient) { c.expect(221, "QUIT") }, false},
	}
	for _, v := range tlsVariants {
		for _, tc := range cases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				ts := startServer(t)
				writeHomeFile(t, ts, "alice", "f.txt", []byte("alice's file"))
				owner, _ := v.loggedIn(t, ts, "alice")
				pending, pendingTLS := v.connect(t, ts)

				data := owner.dialData(owner.epsv(), sessionOf(t, pendingTLS))
				owner.expect(150, "RETR f.txt")
				received := make(chan []byte, 1)
				go func() {
					got, _ := io.ReadAll(data) // the handshake fails on refusal; what arrived is what counts
					received <- got
				}()
				ts.log.waitFor(t, logWaitForLogin, 1)
				tc.then(pending)
				got := <-received
				code, _ := owner.read("end of RETR")
				if tc.accept && (code != 226 || string(got) != "alice's file") {
					t.Fatalf("refused: %d %q", code, got)
				}
				if !tc.accept && (code == 226 || len(got) > 0) {
					t.Fatalf("accepted: %d %q", code, got)
				}
			})
		}
	}
}
