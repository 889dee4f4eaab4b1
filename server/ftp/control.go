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
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxCommandLine is the longest command line accepted, CRLF included. ftpserverlib reads lines into a 4096-byte
// buffer and silently drops a client whose line does not fit; the filter answers such a line with an error.
const maxCommandLine = 4096

var (
	errLineTooLong = errors.New("command line too long")
	errPanic       = errors.New("internal error in the control connection filter")
)

// Active-mode commands, whose port the filter checks.
const (
	verbPORT = "PORT"
	verbEPRT = "EPRT"
)

// dataVerbs open or use a data connection.
var dataVerbs = map[string]bool{
	"PASV": true, "EPSV": true, verbPORT: true, verbEPRT: true, "LPSV": true, "LPRT": true, "SPSV": true,
	"RETR": true, "STOR": true, "STOU": true, "APPE": true, "LIST": true, "NLST": true, "MLSD": true,
}

// knownVerbs are the commands ftpserverlib v0.32.0 knows. The filter answers any other command itself:
// ftpserverlib writes its "unknown command" reply without waiting for a transfer running in the background,
// racing that transfer's own reply on the same buffered writer. Its other replies are written after the
// transfer finished, or under its transfer lock (ABOR, STAT).
var knownVerbs = map[string]bool{}

func init() {
	for _, verb := range strings.Fields(`USER PASS ACCT ADAT AUTH PROT PBSZ CCC CONF ENC MIC CLNT FEAT SYST NOOP OPTS
		QUIT AVBL ABOR CSID HELP HOST LANG XRSQ XSEM XSEN SIZE DSIZ STAT MDTM MFMT MFF MFCT RETR STOR STOU STRU APPE
		DELE RNFR RNTO ALLO REST SITE HASH XCRC MD5 XMD5 XSHA XSHA1 XSHA256 XSHA512 COMB THMB XRCP CWD PWD XCWD XPWD
		CDUP NLST LIST MLSD MLST MKD RMD RMDA XMKD XRMD SMNT XCUP TYPE MODE PASV EPSV LPSV SPSV PORT LRPT EPRT REIN`) {
		knownVerbs[verb] = true
	}
}

// isKnown reports whether ftpserverlib would run verb, including its reading of a verb that merely ends in
// ABOR, STAT or QUIT (clients prefix those with Telnet interrupt bytes) as that command.
func isKnown(verb string) bool {
	if knownVerbs[verb] {
		return true
	}
	for _, special := range []string{"ABOR", "STAT", "QUIT"} {
		if strings.HasSuffix(verb, special) {
			return true
		}
	}
	return false
}

// controlPolicy is the TLS policy of one control connection.
type controlPolicy struct {
	requireTLS bool        // explicit listener in Required mode: no login before AUTH TLS, no data without PROT P
	implicit   bool        // TLS from the first byte; ftpserverlib then protects every data connection itself
	tlsConfig  *tls.Config // nil when AUTH TLS is refused
	activeMode bool
	// passiveIPv4 is the address PASV announces to this client, which came over IPv4.
	passiveIPv4 func() (netip.Addr, error)
}

// controlConn sits between the client's control connection and ftpserverlib. It terminates TLS itself (AUTH TLS
// or implicit) and reads the client's commands one line at a time before ftpserverlib does, so it can refuse
// what the TLS policy forbids with a proper reply:
//
//   - USER and PASS before AUTH TLS in Required mode (530), and a second login on a logged-in connection (503);
//   - PROT C in Required mode and on implicit FTPS (534), and PROT and PBSZ without TLS (503);
//   - commands that open or use a data connection in Required mode until PROT P (521);
//   - AUTH TLS when TLS is disabled (534);
//   - data-connection commands that do not fit the control connection's address and IP family (datacmd.go);
//   - command lines longer than 4096 bytes (500, then the connection is closed), and unknown commands (500).
//
// ftpserverlib alone accepts PROT C with "200 OK" even when TLS is required (and only refuses the transfer that
// follows), and cannot tell who a TLS configuration is for; handling TLS here fixes both.
//
// The filter hands ftpserverlib one line per Read and decides on a line only when ftpserverlib asks for the next
// one, so its decisions see the state left by every earlier command (a pipelined "PASS" then "PASV" is judged
// after the login happened). Replies it writes itself are serialized with ftpserverlib's by the write lock.
type controlConn struct {
	conn          *connection
	policy        controlPolicy
	loginDeadline time.Time

	tlsConn   atomic.Pointer[tls.Conn] // set once TLS is up; replies go through it from then on
	wmu       sync.Mutex
	closeOnce sync.Once

	// Used only by the goroutine reading commands (ftpserverlib's command loop).
	in      []byte // bytes received and not yet split into lines
	out     []byte // the current allowed line, not yet read by ftpserverlib
	protP   bool   // the client asked for protected data connections (PROT P)
	readBuf []byte
	// epsvAll is set by EPSV ALL: from then on only EPSV may set up data connections (RFC 2428 section 4).
	epsvAll bool
	// pasvAddr is the address the filter found for the PASV ftpserverlib answers next, through the driver's
	// PublicIPResolver, which runs on this same goroutine.
	pasvAddr netip.Addr
}

func newControlConn(conn *connection, policy controlPolicy, loginDeadline time.Time) *controlConn {
	return &controlConn{conn: conn, policy: policy, loginDeadline: loginDeadline, readBuf: make([]byte, 4096)}
}

// current is the connection replies are written to and commands read from: the TLS connection once there is one.
func (c *controlConn) current() net.Conn {
	if tc := c.tlsConn.Load(); tc != nil {
		return tc
	}
	return c.conn.raw
}

func (c *controlConn) tlsActive() bool { return c.tlsConn.Load() != nil }

// Read hands ftpserverlib the next allowed command line.
func (c *controlConn) Read(p []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.conn.log.Error("panic in the control connection filter; connection closed",
				"panic", r, "stack", string(debug.Stack()))
			n, err = 0, errPanic
		}
	}()
	for len(c.out) == 0 {
		line, err := c.readLine()
		if err != nil {
			return 0, err
		}
		if c.out, err = c.filter(line); err != nil {
			return 0, err
		}
	}
	n = copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// readLine returns the next line, "\n" included. A partial line at the end of the stream is dropped: the client
// is gone and nobody would read the reply.
func (c *controlConn) readLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(c.in, '\n'); i >= 0 {
			if i+1 > maxCommandLine {
				return nil, c.lineTooLong()
			}
			line := bytes.Clone(c.in[:i+1])
			c.in = append(c.in[:0], c.in[i+1:]...)
			return line, nil
		}
		if len(c.in) >= maxCommandLine {
			return nil, c.lineTooLong()
		}
		n, err := c.current().Read(c.readBuf)
		if n > 0 {
			c.conn.touch()
			c.in = append(c.in, c.readBuf[:n]...)
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *controlConn) lineTooLong() error {
	_ = c.reply("500 Command line too long.") // the connection ends either way
	c.conn.log.Info("command line too long; closing the connection", "limit", maxCommandLine)
	return errLineTooLong
}

// filter decides on one line: it returns the line for ftpserverlib, or nil after answering it here. It parses
// the line exactly as ftpserverlib does (verb up to the first space, case-insensitive; "\r\n" or "\n" removed),
// so both always agree on what the command is.
func (c *controlConn) filter(line []byte) ([]byte, error) {
	text := strings.TrimSuffix(string(line[:len(line)-1]), "\r")
	verb, param, _ := strings.Cut(text, " ")
	verb = strings.ToUpper(verb)
	loggedIn := c.conn.loggedIn.Load()
	if !isKnown(verb) {
		return nil, c.reply("500 Unknown command.")
	}
	switch verb {
	case "AUTH":
		return nil, c.auth(param)
	case "PROT":
		return c.prot(line, param)
	case "PBSZ":
		if !c.tlsActive() {
			return nil, c.reply("503 PBSZ is only valid after AUTH TLS.")
		}
	case "USER", "PASS":
		if loggedIn {
			return nil, c.reply("503 Already logged in; open another connection to log in as another user.")
		}
		if c.policy.requireTLS && !c.tlsActive() {
			return nil, c.reply("530 This server requires TLS: send AUTH TLS before logging in.")
		}
	}
	if !loggedIn || !dataVerbs[verb] {
		return line, nil // before login, ftpserverlib answers every data command with 530
	}
	if c.policy.requireTLS && !c.protP {
		return nil, c.reply("521 Data connections must be protected on this server: send PROT P first.")
	}
	return c.dataCommand(line, verb, param)
}

// auth answers AUTH and, for TLS, performs the handshake.
func (c *controlConn) auth(mechanism string) error {
	switch {
	case c.tlsActive():
		return c.reply("503 TLS is already active on this connection.")
	case c.policy.tlsConfig == nil:
		return c.reply("534 TLS is disabled on this server.")
	}
	switch strings.ToUpper(strings.TrimSpace(mechanism)) {
	case "TLS", "TLS-C", "SSL", "TLS-P":
	default:
		return c.reply("504 Unsupported security mechanism; use AUTH TLS.")
	}
	if err := c.reply("234 AUTH TLS successful; start the TLS handshake."); err != nil {
		return err
	}
	return c.startTLS()
}

// startTLS runs the server side of the TLS handshake on the control connection, within the login deadline. Bytes
// the client sent after the AUTH line are the start of its handshake: they are handed to TLS, never read as
// commands, so plaintext commands injected after AUTH TLS cannot pass as protected ones.
func (c *controlConn) startTLS() error {
	prefix := c.in
	c.in = nil
	tc := tls.Server(&prefixConn{Conn: c.conn.raw, prefix: prefix}, c.policy.tlsConfig)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake on the control connection: %w", err)
	}
	c.wmu.Lock()
	c.tlsConn.Store(tc)
	c.wmu.Unlock()
	c.protP = false // RFC 4217: a new security exchange resets the data protection level
	return nil
}

// prot answers PROT. ftpserverlib protects data connections exactly when the parameter is "P", so only "P" and
// "C" are passed on; anything else would silently mean clear data.
func (c *controlConn) prot(line []byte, level string) ([]byte, error) {
	switch {
	case !c.tlsActive():
		return nil, c.reply("503 PROT is only valid after AUTH TLS.")
	case level == "P":
		c.protP = true
		return line, nil
	case level != "C":
		return nil, c.reply("504 Unsupported protection level; use PROT P.")
	case c.policy.requireTLS || c.policy.implicit:
		return nil, c.reply("534 PROT C refused: this server requires protected data connections (PROT P).")
	}
	c.protP = false
	return line, nil
}

func (c *controlConn) reply(line string) error {
	_, err := c.Write([]byte(line + "\r\n"))
	return err
}

func (c *controlConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n, err := c.current().Write(p)
	if n > 0 {
		c.conn.touch()
	}
	return n, err
}

// Close closes the control connection, sending a TLS close_notify first if TLS is up. ftpserverlib may close it
// more than once.
func (c *controlConn) Close() error {
	c.closeOnce.Do(func() { _ = c.current().Close() }) // the client may be gone; there is nobody to tell
	return nil
}

func (c *controlConn) LocalAddr() net.Addr  { return c.conn.raw.LocalAddr() }
func (c *controlConn) RemoteAddr() net.Addr { return c.conn.raw.RemoteAddr() }

// Deadlines: ftpserverlib sets its idle timeout before reading each command. Until login the filter keeps the
// login deadline instead whenever it is sooner, so the TLS handshake and authentication together cannot take
// longer than the login timeout however the client paces its commands.
func (c *controlConn) SetDeadline(t time.Time) error { return c.conn.raw.SetDeadline(c.clamp(t)) }
func (c *controlConn) SetReadDeadline(t time.Time) error {
	return c.conn.raw.SetReadDeadline(c.clamp(t))
}
func (c *controlConn) SetWriteDeadline(t time.Time) error {
	return c.conn.raw.SetWriteDeadline(c.clamp(t))
}

func (c *controlConn) clamp(t time.Time) time.Time {
	if c.conn.loggedIn.Load() {
		return t
	}
	if t.IsZero() || t.After(c.loginDeadline) {
		return c.loginDeadline
	}
	return t
}

// prefixConn replays bytes already read from a connection before reading on.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
