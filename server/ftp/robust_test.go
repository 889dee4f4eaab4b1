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
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/payload"
)

// TestGarbage: malformed commands get error replies and the session goes on; a line too long for a command
// gets "500" and the connection is closed.
func TestGarbage(t *testing.T) {
	ts := startServer(t, func(s *Settings) { s.TLSMode = serverconfig.TLSOptional })
	c := rawDial(t, ts.addr, nil)
	c.login("alice")
	for _, line := range []string{
		"", " ", "\x00\x01\x02\xff", "FOO bar", "RETR", "STOR", "PORT garbage", "EPRT |9|x|y|", "EPRT", "REST abc",
		"REST -5", "MFMT", "MFMT 2020 x", "SITE", "SITE CHMOD", "SITE CHMOD 999 x", "SITE CHMOD 600 /nonexistent",
		"CWD", "CWD /nonexistent", "TYPE Q", "MODE Z", "OPTS", "OPTS HASH SHA-1", "ALLO x", "RNTO x", "RNFR",
		"DELE", "RMD", "MKD", "SIZE", "MDTM /nonexistent", "MLST /nonexistent", "HASH x", "COMB a b", "AVBL /nonexistent",
		"\xff\xf4\xff\xf2ABOR", "STAT /nonexistent", "PROT", "AUTH", "AUTH KERBEROS", "PBSZ", "CCC", "REIN",
		strings.Repeat("A", 1000), "USER \r", "LIST -la /nonexistent", "NLST ../../..", "\tNOOP",
	} {
		if code, _ := c.send(line); code < 200 {
			t.Fatalf("%q got a preliminary reply %d", line, code)
		}
	}
	c.expect(200, "NOOP")

	// The longest line that fits is still a command; one byte more ends the connection.
	c.expect(500, "X"+strings.Repeat("Y", maxCommandLine-3)) // with CRLF: exactly maxCommandLine bytes
	c.expect(200, "NOOP")
	c.expect(500, strings.Repeat("Z", maxCommandLine))
	if _, err := c.tp.ReadLine(); err == nil {
		t.Fatal("the connection stayed open after an over-long line")
	}

	// A stream without a newline at all is cut off at the limit too.
	raw := rawDial(t, ts.addr, nil)
	if _, err := raw.conn.Write(bytes.Repeat([]byte("x"), 3*maxCommandLine)); err != nil {
		t.Fatal(err)
	}
	if code, _ := raw.read("endless line"); code != 500 {
		t.Fatalf("an endless line got %d", code)
	}
}

// waitClosed reads from conn until the server closes it; the test's own deadline only bounds a hang.
func waitClosed(t *testing.T, conn net.Conn, what string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: the server did not close the connection", what)
	}
}

// TestTimeouts: half-open TLS handshakes, clients that never log in (however busy they keep the connection),
// idle sessions and stalled transfers are all closed by the server.
func TestTimeouts(t *testing.T) {
	ts := startServer(t, func(s *Settings) {
		s.LoginTimeout = 500 * time.Millisecond
		s.IdleTimeout = time.Second
	})
	writeHomeFile(t, ts, "alice", "f.txt", []byte("data"))

	// Implicit TLS: connect and send nothing, or half a handshake.
	for _, prefix := range [][]byte{nil, {0x16, 0x03, 0x01, 0x02, 0x00, 0x01}} {
		conn, err := net.Dial("tcp", ts.implicitAddr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write(prefix)
		waitClosed(t, conn, "implicit TLS without a handshake")
		_ = conn.Close()
	}

	// AUTH TLS, then nothing.
	c := rawDial(t, ts.addr, nil)
	c.expect(234, "AUTH TLS")
	waitClosed(t, c.conn, "AUTH TLS without a handshake")

	// Busy but never logging in: NOOPs do not extend the login deadline.
	c = rawDial(t, ts.addr, nil)
	for i := 0; ; i++ {
		if _, err := c.conn.Write([]byte("NOOP\r\n")); err != nil {
			break
		}
		if _, _, err := c.tp.ReadResponse(0); err != nil {
			break
		}
		if i > 500 {
			t.Fatal("a client that never logs in kept its connection")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Logged in and idle.
	c = rawLogin(t, ts, ts.addr)
	waitClosed(t, c.conn, "an idle session")

	// A stalled upload (nothing sent on the data connection) and a stalled TLS handshake on a data connection.
	for _, stall := range []string{"upload", "data handshake"} {
		c = protectedSession(t, ts, ts.addr)
		port := c.epsv()
		data, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		c.expect(150, "STOR stalled.bin")
		if stall == "upload" {
			data = tls.Client(data, c.tls)
			if err := data.(*tls.Conn).Handshake(); err != nil {
				t.Fatal(err)
			}
		}
		// Either the transfer fails with an error reply or the whole session is closed; both end it.
		if code, _, err := c.tp.ReadResponse(0); err == nil && code == 226 {
			t.Fatalf("a stalled %s completed", stall)
		}
		_ = data.Close()
	}
}

// TestNoGoroutineLeak: after abusive and abandoned connections of every kind, the server's goroutines go
// back to where they were.
func TestNoGoroutineLeak(t *testing.T) {
	ts := startServer(t, func(s *Settings) {
		s.LoginTimeout = time.Second
		s.IdleTimeout = 2 * time.Second
	})
	writeHomeFile(t, ts, "alice", "big.bin", payload.Random(8<<20))
	baseline := runtime.NumGoroutine()

	for range 3 {
		// Garbage, then hang up.
		c := rawDial(t, ts.addr, nil)
		_, _ = c.conn.Write([]byte("GARBAGE\r\n\x00\xff\r\n" + strings.Repeat("A", 5000)))
		_ = c.conn.Close()

		// Half a TLS handshake, then hang up.
		conn, err := net.Dial("tcp", ts.implicitAddr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write([]byte{0x16, 0x03, 0x01})
		_ = conn.Close()

		// A download abandoned in the middle: control and data connections just dropped.
		c = protectedSession(t, ts, ts.addr)
		data := c.dialData(c.epsv(), c.tls)
		c.expect(150, "RETR big.bin")
		if _, err := io.ReadFull(data, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		_ = c.conn.Close()
		_ = data.Close()

		// A PASV whose data connection never comes.
		c = rawLogin(t, ts, ts.addr)
		c.expect(200, "PROT P")
		c.epsv()
		_ = c.conn.Close()

		// A good session with QUIT.
		ok := ts.login(t, "alice")
		_ = ok.Quit()
	}

	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			t.Fatalf("%d goroutines left, %d before", runtime.NumGoroutine(), baseline)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := ts.Sessions.Count(); n != 0 {
		t.Fatalf("%d sessions still registered", n)
	}
	if n := ts.Limiter.Open(); n != 0 {
		t.Fatalf("%d connection slots still held", n)
	}
}
