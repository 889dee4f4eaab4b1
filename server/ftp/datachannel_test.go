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
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/serverconfig"
)

// TestPassivePorts: passive ports come from the configured range, and a reload changes the range and the
// announced address for the next PASV of a session already open; PASV announces the IPv4 public address.
func TestPassivePorts(t *testing.T) {
	ts := startServer(t)
	c := protectedSession(t, ts, ts.addr)
	for range 5 {
		if port := c.epsv(); !ts.settings.PassivePorts.Contains(port) {
			t.Fatalf("EPSV port %d outside %v", port, ts.settings.PassivePorts)
		}
	}

	next := ts.settings
	next.PassivePorts = randomPortRange()
	next.PublicAddresses = []string{"192.0.2.10"}
	ts.SetSettings(next)
	host, port := c.pasv()
	if host != "192.0.2.10" || !next.PassivePorts.Contains(port) {
		t.Fatalf("after the reload PASV announced %s:%d, want 192.0.2.10 and a port in %v", host, port, next.PassivePorts)
	}
	next.PublicAddresses = []string{"localhost"} // a host name is resolved at each PASV
	ts.SetSettings(next)
	if host, _ := c.pasv(); host != "127.0.0.1" {
		t.Fatalf("PASV with public address localhost announced %s", host)
	}
	// One address per family: an IPv4 client's PASV gets the IPv4 one, in whichever order they are listed.
	for _, public := range [][]string{{"192.0.2.10", "2001:db8::1"}, {"2001:db8::1", "192.0.2.10"}, {"::ffff:192.0.2.10"}} {
		next.PublicAddresses = public
		ts.SetSettings(next)
		if host, _ := c.pasv(); host != "192.0.2.10" {
			t.Fatalf("PASV with public addresses %v announced %s", public, host)
		}
	}
	// Only an IPv6 address: PASV cannot carry it, and the local address is the pod's own, which a client outside
	// would not reach; the client is told to use EPSV, which still works.
	next.PublicAddresses = []string{"2001:db8::1"}
	ts.SetSettings(next)
	if msg := c.expect(501, "PASV"); !strings.Contains(msg, "EPSV") {
		t.Fatalf("PASV with only an IPv6 public address: %q does not name EPSV", msg)
	}
	if port := c.epsv(); !next.PassivePorts.Contains(port) {
		t.Fatalf("EPSV port %d outside %v", port, next.PassivePorts)
	}
	c.expect(200, "NOOP")
}

// TestPassiveOnlyFromControlAddress: a connection to the passive port from another address is dropped, and
// the client's own connection still gets the data.
func TestPassiveOnlyFromControlAddress(t *testing.T) {
	ts := startServer(t)
	writeHomeFile(t, ts, "alice", "f.txt", []byte("for alice only"))
	c := protectedSession(t, ts, ts.addr)
	port := c.epsv()

	// 127.0.0.2 is another address of the loopback interface: a stranger, as far as the server can tell.
	dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 10 * time.Second}
	stranger, err := dialer.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Skipf("cannot use 127.0.0.2 as a source address here: %v", err)
	}
	defer func() { _ = stranger.Close() }()
	data := c.dialData(port, c.tls)
	c.expect(150, "RETR f.txt")
	_ = stranger.SetDeadline(time.Now().Add(15 * time.Second))
	if got, _ := io.ReadAll(stranger); len(got) > 0 {
		t.Fatalf("the stranger received %q", got)
	}
	got, _ := io.ReadAll(data)
	if code, _ := c.read("end of RETR"); code != 226 || string(got) != "for alice only" {
		t.Fatalf("the client got %d %q", code, got)
	}
}

// TestActiveMode: active mode is off by default; when on, PORT/EPRT connect only to the client's own address
// and never to a privileged port, and transfers work over clear and protected data connections.
func TestActiveMode(t *testing.T) {
	off := startServer(t)
	c := rawLogin(t, off, off.addr)
	c.expect(200, "PROT P")
	if code, msg := c.send("EPRT |1|127.0.0.1|40000|"); code/100 == 2 {
		t.Fatalf("EPRT with active mode off: %d %s", code, msg)
	}

	ts := startServer(t, func(s *Settings) {
		s.ActiveMode = true
		s.TLSMode = serverconfig.TLSOptional
	})
	writeHomeFile(t, ts, "alice", "f.txt", []byte("active data"))
	for _, protected := range []bool{false, true} {
		t.Run(fmt.Sprintf("protected=%v", protected), func(t *testing.T) {
			c := rawLogin(t, ts, ts.addr)
			level := "C"
			if protected {
				level = "P"
			}
			c.expect(200, "PROT "+level)
			c.expect(501, "PORT 10,1,2,3,200,10")
			c.expect(501, "EPRT |1|10.1.2.3|5000|")
			c.expect(504, "EPRT |1|127.0.0.1|80|")
			c.expect(504, "PORT 127,0,0,1,0,21")

			ln := listenAt(t, "127.0.0.1")
			c.expect(200, fmt.Sprintf("EPRT |1|127.0.0.1|%d|", portOfListener(ln)))
			var cfg *tls.Config
			if protected {
				cfg = c.tls
			}
			if got, code, msg := c.activeTransfer(ln, cfg); code != 226 || string(got) != "active data" {
				t.Fatalf("active RETR: %d %s, data %q", code, msg, got)
			}
		})
	}
}

// TestDataConnectionWithoutReuseIsRefusedInActiveMode: the session-reuse requirement covers active mode too.
func TestDataConnectionWithoutReuseIsRefusedInActiveMode(t *testing.T) {
	ts := startServer(t, func(s *Settings) { s.ActiveMode = true })
	writeHomeFile(t, ts, "alice", "f.txt", []byte("data"))
	c := protectedSession(t, ts, ts.addr)
	ln := listenAt(t, "127.0.0.1")
	c.expect(200, fmt.Sprintf("EPRT |1|127.0.0.1|%d|", portOfListener(ln)))
	fresh := &tls.Config{RootCAs: ts.ca.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12} // no session
	got, code, msg := c.activeTransfer(ln, fresh)
	if code == 226 || len(got) > 0 || !strings.Contains(msg, "resume") {
		t.Fatalf("a data connection without the session: %d %s, data %q", code, msg, got)
	}
}
