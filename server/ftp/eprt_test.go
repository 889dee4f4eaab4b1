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
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/testnet"
)

// listenAt listens on an ephemeral port of host, an address of this machine.
func listenAt(t *testing.T, host string) *net.TCPListener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln.(*net.TCPListener)
}

func portOfListener(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// refusedWithoutConnecting sends an active-mode command that must be refused with code, then RETR, and fails
// the test if the transfer started or if ln, where the command pointed, received a connection. The server
// connects in active mode only when a transfer starts, and has done so by the time it answers RETR, so once RETR
// is answered anything it connected is already waiting in ln's accept queue.
func refusedWithoutConnecting(t *testing.T, c *rawClient, ln *net.TCPListener, command string, code int) string {
	t.Helper()
	msg := c.expect(code, command)
	if got, reply := c.send("RETR f.txt"); got == 150 || got/100 == 2 {
		t.Fatalf("after the refused %q, RETR started a transfer: %d %s", command, got, reply)
	}
	if err := ln.SetDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err == nil {
		_ = conn.Close()
		t.Fatalf("after the refused %q the server connected to %s from %s", command, ln.Addr(), conn.RemoteAddr())
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("checking %s for connections: %v", ln.Addr(), err)
	}
	return msg
}

// TestEPRTOverIPv6: with active mode on, EPRT |2| to the client's own address [::1] works; EPRT |2| to another
// address of this machine (inside a network namespace the test made, and reachable from the server) is refused
// exactly like PORT to another address and nothing connects there; EPRT |1| and PORT, which can only name IPv4
// addresses, are refused with replies that say which protocol to use.
func TestEPRTOverIPv6(t *testing.T) {
	ts := startServer(t, func(s *Settings) { s.ActiveMode = true })
	explicit, _ := ts.listenIPv6(t)
	writeHomeFile(t, ts, "alice", "f.txt", []byte("active over IPv6"))
	c := protectedSession(t, ts, explicit)

	own := listenAt(t, "::1")
	c.expect(200, fmt.Sprintf("EPRT |2|::1|%d|", portOfListener(own)))
	if got := activeRETR(t, c, own); got != "active over IPv6" {
		t.Fatalf("active RETR over IPv6 got %q", got)
	}
	// RFC 2428 lets a client pick any delimiter; the server connects to the same address either way.
	c.expect(200, fmt.Sprintf("EPRT !2!0:0:0:0:0:0:0:1!%d!", portOfListener(own)))
	if got := activeRETR(t, c, own); got != "active over IPv6" {
		t.Fatalf("active RETR after EPRT with another delimiter got %q", got)
	}
	// The unspecified address, which lftp sends over loopback, can only mean the client's own.
	c.expect(200, fmt.Sprintf("EPRT |2|::|%d|", portOfListener(own)))
	if got := activeRETR(t, c, own); got != "active over IPv6" {
		t.Fatalf("active RETR after EPRT to :: got %q", got)
	}

	ns := testnet.NewNamespace(t)
	elsewhere := ns.Listen(t)
	// The server could connect there: the test's process, in the server's namespace, can.
	probe, err := net.DialTimeout("tcp", elsewhere.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatalf("the namespace's listener is unreachable, so this test could not see a connection: %v", err)
	}
	_ = probe.Close()
	if accepted, err := elsewhere.Accept(); err != nil {
		t.Fatalf("accepting the probe: %v", err)
	} else {
		_ = accepted.Close()
	}
	foreign := refusedWithoutConnecting(t, c, elsewhere,
		fmt.Sprintf("EPRT |2|%s|%d|", ns.PeerAddr, portOfListener(elsewhere)), 501)
	ipv4 := listenAt(t, "127.0.0.1")
	mapped := refusedWithoutConnecting(t, c, ipv4, fmt.Sprintf("EPRT |2|::ffff:127.0.0.1|%d|", portOfListener(ipv4)), 501)

	// The same refusal as PORT to another address over IPv4.
	c4 := protectedSession(t, ts, ts.addr)
	stranger := listenAt(t, "127.0.0.1")
	// 127.0.0.2 is another address of the loopback interface, not the client's.
	port4 := refusedWithoutConnecting(t, c4, stranger, "PORT 127,0,0,2,"+portBytes(portOfListener(stranger)), 501)
	if foreign != port4 || mapped != port4 {
		t.Fatalf("EPRT to another IPv6 address answered %q and %q, PORT to another IPv4 address %q; want the same",
			foreign, mapped, port4)
	}

	if msg := refusedWithoutConnecting(t, c, ipv4, fmt.Sprintf("EPRT |1|127.0.0.1|%d|", portOfListener(ipv4)), 522); !strings.HasSuffix(msg, "(2)") {
		t.Fatalf("EPRT |1| over IPv6: %q, want RFC 2428's list of protocols to use: (2)", msg)
	}
	if msg := refusedWithoutConnecting(t, c, ipv4, "PORT 127,0,0,1,"+portBytes(portOfListener(ipv4)), 501); !strings.Contains(msg, "EPRT") {
		t.Fatalf("PORT over IPv6: %q does not name EPRT", msg)
	}
	c.expect(504, "EPRT |2|::1|21|")
}

// TestEPRTOverIPv4: from an IPv4 control connection, EPRT |2| (an IPv4-mapped address included) is refused with
// RFC 2428's 522 naming protocol 1, and nothing connects; EPRT |1| to the client's own address works.
func TestEPRTOverIPv4(t *testing.T) {
	ts := startServer(t, func(s *Settings) { s.ActiveMode = true })
	writeHomeFile(t, ts, "alice", "f.txt", []byte("active over IPv4"))
	c := protectedSession(t, ts, ts.addr)

	ln := listenAt(t, "127.0.0.1")
	for _, command := range []string{
		fmt.Sprintf("EPRT |2|::ffff:127.0.0.1|%d|", portOfListener(ln)),
		fmt.Sprintf("EPRT |2|::ffff:7f00:1|%d|", portOfListener(ln)),
	} {
		if msg := refusedWithoutConnecting(t, c, ln, command, 522); !strings.HasSuffix(msg, "(1)") {
			t.Fatalf("%q over IPv4: %q, want RFC 2428's list of protocols to use: (1)", command, msg)
		}
	}
	testnet.RequireIPv6(t)
	ipv6 := listenAt(t, "::1")
	refusedWithoutConnecting(t, c, ipv6, fmt.Sprintf("EPRT |2|::1|%d|", portOfListener(ipv6)), 522)

	c.expect(200, fmt.Sprintf("EPRT |1|127.0.0.1|%d|", portOfListener(ln)))
	if got := activeRETR(t, c, ln); got != "active over IPv4" {
		t.Fatalf("active RETR got %q", got)
	}
}

// TestMalformedActiveCommands: every malformed PORT and EPRT argument gets 501 (an unknown network protocol
// RFC 2428's 522), never a crash, and the session goes on.
func TestMalformedActiveCommands(t *testing.T) {
	ts := startServer(t, func(s *Settings) { s.ActiveMode = true })
	explicit, _ := ts.listenIPv6(t)
	for _, tc := range []struct {
		addr     string
		commands map[string]int
	}{
		{explicit, map[string]int{
			"EPRT":                      501,
			"EPRT ":                     501,
			"EPRT |":                    501,
			"EPRT ||||":                 501,
			"EPRT |||||":                501,
			"EPRT |2|::1|":              501,
			"EPRT |2|::1|5000":          501,
			"EPRT |2|::1|5000||":        501,
			"EPRT |2|::1|0|":            501,
			"EPRT |2|::1|65536|":        501,
			"EPRT |2|::1|+5000|":        501,
			"EPRT |2|::1|-1|":           501,
			"EPRT |2|::1| 5000|":        501,
			"EPRT |2|[::1]|5000|":       501,
			"EPRT |2|::1%lo|5000|":      501,
			"EPRT |2|localhost|5000|":   501,
			"EPRT |2|127.0.0.1|5000|":   501,
			"EPRT |1|::1|5000|":         501,
			"EPRT |x|::1|5000|":         501,
			"EPRT |02|::1|5000|":        522,
			"EPRT |3|::1|5000|":         522,
			"EPRT |99999999999|::1|5|":  522,
			"EPRT 2|::1|5000|":          501,
			"EPRT  |2|::1|5000|x":       501,
			"EPRT \x01\x012\x01::1\x01": 501,
			"EPRT é2é::1é5000é":         501,
			"EPRT |2|" + strings.Repeat("f", 3000) + "|5000|": 501,
		}},
		{ts.addr, map[string]int{
			"PORT":                      501,
			"PORT 127,0,0,1,19":         501,
			"PORT 127,0,0,1,19,136,1":   501,
			"PORT 127,0,0,1,0,0":        501,
			"PORT 256,0,0,1,19,136":     501,
			"PORT 127,0,0,1,256,1":      501,
			"PORT -127,0,0,1,19,136":    501,
			"PORT +127,0,0,1,19,136":    501,
			"PORT 127,0,0,1,19,":        501,
			"PORT 127.0.0.1,19,136":     501,
			"PORT 127,0,0,1,0x13,136":   501,
			"PORT 0127,0,0,1,19,136":    501,
			"EPRT |1|127.0.0.1|5000|x|": 501,
			"EPRT |1|127.1|5000|":       501,
			"EPRT |1|127.0.0.01|5000|":  501,
			"EPRT |1|::1|5000|":         501,
		}},
	} {
		c := protectedSession(t, ts, tc.addr)
		for command, code := range tc.commands {
			if got, msg := c.send(command); got != code {
				t.Errorf("%q: got %d %s, want %d", command, got, msg, code)
			}
		}
		c.expect(200, "NOOP")
	}
}

// TestEPSVArguments: EPSV with the control connection's own network protocol works; the other one gets RFC
// 2428's 522 naming the right one; garbage gets 501; after EPSV ALL only EPSV sets up data connections.
func TestEPSVArguments(t *testing.T) {
	ts := startServer(t, func(s *Settings) { s.ActiveMode = true })
	explicit, _ := ts.listenIPv6(t)
	writeHomeFile(t, ts, "alice", "f.txt", []byte("epsv"))
	for _, tc := range []struct {
		addr, own, other string
	}{
		{explicit, "2", "1"},
		{ts.addr, "1", "2"},
	} {
		c := protectedSession(t, ts, tc.addr)
		c.expect(229, "EPSV "+tc.own)
		if msg := c.expect(522, "EPSV "+tc.other); !strings.HasSuffix(msg, "("+tc.own+")") {
			t.Errorf("EPSV %s on a protocol %s connection: %q, want (%s)", tc.other, tc.own, msg, tc.own)
		}
		c.expect(522, "EPSV 3")
		c.expect(501, "EPSV x")
		c.expect(200, "EPSV ALL")
		for _, command := range []string{"PASV", "PORT 127,0,0,1,19,136", "EPRT |" + tc.own + "|::1|5000|"} {
			if code, msg := c.send(command); code != 503 || !strings.Contains(msg, "EPSV") {
				t.Errorf("%q after EPSV ALL: %d %s, want 503 naming EPSV", command, code, msg)
			}
		}
		if got, code := c.retr("f.txt"); code != 226 || string(got) != "epsv" {
			t.Errorf("RETR over EPSV after EPSV ALL: %d %q", code, got)
		}
	}
}

// TestActiveModeOffReply: with active mode off, PORT and EPRT get 502 and a pointer to passive mode, not
// ftpserverlib's 421, which tells a client the server is closing the connection.
func TestActiveModeOffReply(t *testing.T) {
	ts := startServer(t, func(s *Settings) { s.TLSMode = serverconfig.TLSOptional })
	c := protectedSession(t, ts, ts.addr)
	for _, command := range []string{"PORT 127,0,0,1,19,136", "EPRT |1|127.0.0.1|5000|", "EPRT garbage"} {
		if code, msg := c.send(command); code != 502 || !strings.Contains(msg, "passive") {
			t.Errorf("%q with active mode off: %d %s, want 502 pointing to passive mode", command, code, msg)
		}
	}
	c.expect(200, "NOOP")
}

// portBytes writes a port as PORT's "p1,p2".
func portBytes(port int) string { return fmt.Sprintf("%d,%d", port>>8, port&0xff) }
