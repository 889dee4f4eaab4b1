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
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawClient speaks FTP line by line, for tests that need commands the Go client does not send or sends
// differently (PROT C, PORT to elsewhere, garbage).
type rawClient struct {
	t    *testing.T
	conn net.Conn
	tp   *textproto.Conn
	tls  *tls.Config // used for data connections once PROT P is on
}

// rawDial connects to addr and reads the greeting. With tlsConfig the connection is implicit TLS.
func rawDial(t *testing.T, addr string, tlsConfig *tls.Config) *rawClient {
	t.Helper()
	var conn net.Conn
	var err error
	if tlsConfig != nil {
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, tlsConfig)
	} else {
		conn, err = net.DialTimeout("tcp", addr, 10*time.Second)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // a hung server fails the test instead of hanging it
	c := &rawClient{t: t, conn: conn, tp: textproto.NewConn(conn), tls: tlsConfig}
	t.Cleanup(func() { _ = c.conn.Close() })
	c.expect(220, "")
	return c
}

// rawLogin connects to addr, switches to TLS (AUTH TLS) and logs in as alice.
func rawLogin(t *testing.T, ts *testServer, addr string) *rawClient {
	t.Helper()
	c := rawDial(t, addr, nil)
	c.authTLS(ts.clientTLS())
	c.login("alice")
	return c
}

// protectedSession logs alice in over addr, with TLS and protected data connections.
func protectedSession(t *testing.T, ts *testServer, addr string) *rawClient {
	t.Helper()
	c := rawLogin(t, ts, addr)
	c.expect(200, "PBSZ 0")
	c.expect(200, "PROT P")
	return c
}

// send writes one command line and returns the reply.
func (c *rawClient) send(line string) (int, string) {
	c.t.Helper()
	if err := c.tp.PrintfLine("%s", line); err != nil {
		c.t.Fatalf("sending %q: %v", line, err)
	}
	return c.read(line)
}

func (c *rawClient) read(what string) (int, string) {
	c.t.Helper()
	code, msg, err := c.tp.ReadResponse(0)
	if err != nil {
		c.t.Fatalf("reply to %q: %v", what, err)
	}
	return code, msg
}

// expect sends line (unless empty) and fails the test unless the reply has the given code.
func (c *rawClient) expect(code int, line string) string {
	c.t.Helper()
	var got int
	var msg string
	if line == "" {
		got, msg = c.read("greeting")
	} else {
		got, msg = c.send(line)
	}
	if got != code {
		c.t.Fatalf("%q: got %d %s, want %d", line, got, msg, code)
	}
	return msg
}

// authTLS upgrades the control connection with AUTH TLS.
func (c *rawClient) authTLS(cfg *tls.Config) {
	c.t.Helper()
	c.expect(234, "AUTH TLS")
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake after AUTH TLS: %v", err)
	}
	c.conn, c.tp, c.tls = tc, textproto.NewConn(tc), cfg
}

func (c *rawClient) login(user string) {
	c.t.Helper()
	c.expect(331, "USER "+user)
	c.expect(230, "PASS "+passwords[user])
}

// epsv asks for a passive port with EPSV.
func (c *rawClient) epsv() int {
	c.t.Helper()
	msg := c.expect(229, "EPSV")
	start, end := strings.Index(msg, "(|||"), strings.LastIndex(msg, "|)")
	if start < 0 || end < start {
		c.t.Fatalf("EPSV reply %q", msg)
	}
	port, err := strconv.Atoi(msg[start+4 : end])
	if err != nil {
		c.t.Fatalf("EPSV reply %q: %v", msg, err)
	}
	return port
}

// pasv asks for a passive port with PASV and returns the announced address.
func (c *rawClient) pasv() (string, int) {
	c.t.Helper()
	msg := c.expect(227, "PASV")
	start, end := strings.Index(msg, "("), strings.Index(msg, ")")
	if start < 0 || end < start {
		c.t.Fatalf("PASV reply %q", msg)
	}
	parts := strings.Split(msg[start+1:end], ",")
	if len(parts) != 6 {
		c.t.Fatalf("PASV reply %q", msg)
	}
	hi, _ := strconv.Atoi(parts[4])
	lo, _ := strconv.Atoi(parts[5])
	return strings.Join(parts[:4], "."), hi<<8 | lo
}

// dialData opens a data connection to port on the server's address of the control connection (EPSV's rule),
// with TLS if the control connection uses it.
func (c *rawClient) dialData(port int, tlsConfig *tls.Config) net.Conn {
	c.t.Helper()
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 10*time.Second)
	if err != nil {
		c.t.Fatalf("dialing the data port: %v", err)
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	c.t.Cleanup(func() { _ = conn.Close() })
	if tlsConfig != nil {
		return tls.Client(conn, tlsConfig)
	}
	return conn
}

// retr downloads name over a new EPSV data connection and returns the content and the final reply code.
func (c *rawClient) retr(name string) ([]byte, int) {
	c.t.Helper()
	data := c.dialData(c.epsv(), c.tls)
	c.expect(150, "RETR "+name)
	content, _ := io.ReadAll(data)
	_ = data.Close()
	code, _ := c.read("end of RETR " + name)
	return content, code
}

// activeTransfer sends RETR f.txt and reads the file over the active-mode connection the server opens to ln, as
// a TLS client with cfg (nil: in the clear; the server is the TLS server on active connections too). It returns
// what arrived and the reply that ended the transfer.
func (c *rawClient) activeTransfer(ln *net.TCPListener, cfg *tls.Config) ([]byte, int, string) {
	c.t.Helper()
	c.expect(150, "RETR f.txt")
	_ = ln.SetDeadline(time.Now().Add(15 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		c.t.Fatalf("the server did not connect to %s: %v", ln.Addr(), err)
	}
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	var data io.Reader = conn
	if cfg != nil {
		data = tls.Client(conn, cfg)
	}
	got, _ := io.ReadAll(data)
	_ = conn.Close()
	code, msg := c.read("end of RETR")
	return got, code, msg
}

// activeRETR downloads f.txt over an active-mode connection the server opens to ln, protected as the session's
// data connections are.
func activeRETR(t *testing.T, c *rawClient, ln *net.TCPListener) string {
	t.Helper()
	got, code, msg := c.activeTransfer(ln, c.tls)
	if code != 226 {
		t.Fatalf("active RETR: %d %s", code, msg)
	}
	return string(got)
}
