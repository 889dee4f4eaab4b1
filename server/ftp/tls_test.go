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
	"crypto/x509"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jlaffaye/ftp"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

func writeHomeFile(t *testing.T, ts *testServer, user, name string, data []byte) {
	t.Helper()
	home := ts.home(user)
	if err := os.MkdirAll(filepath.Dir(filepath.Join(home, name)), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRequiredRefusesPlaintext: in Required mode nobody logs in or lists anything before AUTH TLS, and the
// refusals explain themselves.
func TestRequiredRefusesPlaintext(t *testing.T) {
	ts := startServer(t)
	c := rawDial(t, ts.addr, nil)
	for _, line := range []string{"USER alice", "PASS " + passwords["alice"]} {
		if msg := c.expect(530, line); !strings.Contains(msg, "AUTH TLS") {
			t.Fatalf("%q refused with %q, which does not mention AUTH TLS", line, msg)
		}
	}
	c.expect(503, "PROT P")
	c.expect(503, "PBSZ 0")
	c.expect(530, "EPSV") // not logged in
	c.expect(530, "LIST")

	// The Go client in plain mode fails to log in.
	plain, err := ts.dial(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Login("alice", passwords["alice"]); err == nil {
		t.Fatal("plaintext login succeeded in Required mode")
	}
}

// TestRequiredRefusesClearData: PROT C is refused, and without PROT P no data command is accepted.
func TestRequiredRefusesClearData(t *testing.T) {
	ts := startServer(t)
	writeHomeFile(t, ts, "alice", "hello.txt", []byte("hello"))
	c := rawLogin(t, ts, ts.addr)
	c.expect(200, "PBSZ 0")
	c.expect(534, "PROT C")
	c.expect(504, "PROT S")
	for _, cmd := range []string{"PASV", "EPSV", "LIST", "MLSD", "RETR hello.txt", "STOR x", "PORT 127,0,0,1,200,10"} {
		c.expect(521, cmd)
	}
	c.expect(200, "PROT P")
	c.expect(534, "PROT C") // still refused; data stays protected
	got, code := c.retr("hello.txt")
	if code != 226 || string(got) != "hello" {
		t.Fatalf("RETR after PROT P: %d %q", code, got)
	}
	c.expect(503, "USER reader") // one login per connection
}

// TestDisabledRefusesAUTH: with TLS disabled, AUTH TLS is refused and FEAT does not offer it; plain FTP works.
func TestDisabledRefusesAUTH(t *testing.T) {
	ts := startServer(t, func(s *Settings) { s.TLSMode = serverconfig.TLSDisabled })
	c := rawDial(t, ts.addr, nil)
	c.expect(534, "AUTH TLS")
	c.login("alice")
	if feat := c.expect(211, "FEAT"); strings.Contains(feat, "AUTH TLS") {
		t.Fatalf("FEAT offers AUTH TLS with TLS disabled:\n%s", feat)
	}
	c.expect(503, "PROT P")

	plain, err := ts.dial(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Login("alice", passwords["alice"]); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, plain, "plain.bin", 100_000)
}

// TestOptional: plaintext and TLS clients both work; with TLS, PROT C is allowed.
func TestOptional(t *testing.T) {
	ts := startServer(t, func(s *Settings) { s.TLSMode = serverconfig.TLSOptional })
	plain, err := ts.dial(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Login("alice", passwords["alice"]); err != nil {
		t.Fatalf("plaintext login in Optional mode: %v", err)
	}
	if err := plain.Stor("a.txt", strings.NewReader("plain")); err != nil {
		t.Fatal(err)
	}
	secure := ts.login(t, "alice")
	if got := retrieve(t, secure, "a.txt", 0); string(got) != "plain" {
		t.Fatalf("got %q", got)
	}
	c := rawLogin(t, ts, ts.addr)
	c.expect(200, "PROT C")
	c.tls = nil // clear data connections from now on
	if got, code := c.retr("a.txt"); code != 226 || string(got) != "plain" {
		t.Fatalf("clear RETR after PROT C: %d %q", code, got)
	}
}

// TestImplicitTLS serves a client that speaks TLS from the first byte, and refuses PROT C there.
func TestImplicitTLS(t *testing.T) {
	ts := startServer(t)
	c, err := ftp.Dial(ts.implicitAddr, ftp.DialWithTLS(ts.clientTLS()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Quit() })
	if err := c.Login("alice", passwords["alice"]); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "implicit.bin", 200_000)
	raw := rawDial(t, ts.implicitAddr, ts.clientTLS())
	raw.expect(503, "AUTH TLS")
	raw.login("alice")
	raw.expect(534, "PROT C")
}

// TestSessionReuseRequired: a client that does not resume the control connection's TLS session on its data
// connections cannot transfer; with session reuse, or with the requirement off, it can.
func TestSessionReuseRequired(t *testing.T) {
	ts := startServer(t)
	writeHomeFile(t, ts, "alice", "f.txt", []byte("content"))

	noCache := ts.clientTLS()
	noCache.ClientSessionCache = nil
	c := ts.loginWith(t, noCache)
	if err := tryRetrieve(c, "f.txt"); err == nil || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("RETR without session reuse: %v, want a refusal that mentions resuming the session", err)
	}

	for name, maxVersion := range map[string]uint16{"TLS 1.2": tls.VersionTLS12, "TLS 1.3": tls.VersionTLS13} {
		cfg := ts.clientTLS()
		cfg.MaxVersion = maxVersion
		c := ts.loginWith(t, cfg)
		if got := retrieve(t, c, "f.txt", 0); string(got) != "content" {
			t.Fatalf("%s with session reuse: got %q", name, got)
		}
	}

	relaxed := startServer(t, func(s *Settings) { s.RequireSessionReuse = false })
	writeHomeFile(t, relaxed, "alice", "f.txt", []byte("content"))
	noCache = relaxed.clientTLS()
	noCache.ClientSessionCache = nil
	c = relaxed.loginWith(t, noCache)
	if got := retrieve(t, c, "f.txt", 0); string(got) != "content" {
		t.Fatalf("without the requirement: got %q", got)
	}
}

// tryRetrieve downloads name and returns the first error: the data connection's, or the server's reply.
func tryRetrieve(c *ftp.ServerConn, name string) error {
	resp, err := c.Retr(name)
	if err != nil {
		return err
	}
	_, readErr := io.ReadAll(resp)
	closeErr := resp.Close()
	return errors.Join(readErr, closeErr)
}

// loginWith connects with cfg and logs in as alice.
func (ts *testServer) loginWith(t *testing.T, cfg *tls.Config) *ftp.ServerConn {
	t.Helper()
	c, err := ts.dial(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("alice", passwords["alice"]); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSessionBoundToControlConnection: a TLS session from another user's control connection, from the same
// address, cannot open a data connection on this one's passive port. (Sessions of the same login may:
// TestSessionReuseWithinLogin.)
func TestSessionBoundToControlConnection(t *testing.T) {
	ts := startServer(t)
	writeHomeFile(t, ts, "alice", "secret.txt", []byte("secret"))

	intruder := ts.clientTLS() // gets a session of its own control connection
	other := rawDial(t, ts.addr, nil)
	other.authTLS(intruder)
	other.login("reader")

	victim := rawLogin(t, ts, ts.addr)
	victim.expect(200, "PBSZ 0")
	victim.expect(200, "PROT P")
	port := victim.epsv()
	if _, ok := intruder.ClientSessionCache.Get("127.0.0.1"); !ok {
		t.Fatal("the intruder holds no TLS session to try")
	}

	stolen := victim.dialData(port, intruder).(*tls.Conn)
	victim.expect(150, "RETR secret.txt")
	if err := stolen.Handshake(); err == nil {
		if got, _ := io.ReadAll(stolen); len(got) > 0 {
			t.Fatalf("a session from another control connection read %q", got)
		}
	}
	if code, _ := victim.read("end of RETR"); code == 226 {
		t.Fatal("the transfer to a connection without the control connection's session succeeded")
	}
}

// TestTLSVersionsAndSuites: TLS 1.3 only when configured, and no non-AEAD TLS 1.2 suites.
func TestTLSVersionsAndSuites(t *testing.T) {
	ts := startServer(t, func(s *Settings) { s.MinTLSVersion = serverconfig.TLSVersion13 })
	old := ts.clientTLS()
	old.MaxVersion = tls.VersionTLS12
	if c, err := ts.dial(t, old); err == nil && c.Login("alice", passwords["alice"]) == nil {
		t.Fatal("a TLS 1.2 client logged in to a server requiring TLS 1.3")
	}
	if c := ts.loginWith(t, ts.clientTLS()); c == nil {
		t.Fatal("no connection")
	}

	ts12 := startServer(t)
	cbc := ts12.clientTLS()
	cbc.MaxVersion = tls.VersionTLS12
	cbc.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA} //nolint:gosec // must be refused
	if c, err := ts12.dial(t, cbc); err == nil && c.Login("alice", passwords["alice"]) == nil {
		t.Fatal("a client offering only CBC suites logged in")
	}
}

// TestCertificateRotation: a renewed certificate is served to the next connection without a restart.
func TestCertificateRotation(t *testing.T) {
	ts := startServer(t)
	served := func() string {
		t.Helper()
		var name string
		cfg := ts.clientTLS()
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			name = cs.PeerCertificates[0].Subject.CommonName
			return nil
		}
		c := ts.loginWith(t, cfg)
		_ = c.Quit()
		return name
	}
	if got := served(); got != "server-1" {
		t.Fatalf("certificate %q, want server-1", got)
	}
	ts.ca.Issue(t, "server-2")
	if got := served(); got != "server-2" {
		t.Fatalf("after renewal: certificate %q, want server-2", got)
	}
	// A broken renewal keeps the last good certificate.
	testcreds.WriteFileAtomic(t, ts.ca.CertFile, []byte("garbage"))
	if got := served(); got != "server-2" {
		t.Fatalf("after a broken renewal: certificate %q, want server-2", got)
	}
	// Implicit FTPS uses the same certificate.
	raw := rawDial(t, ts.implicitAddr, ts.clientTLS())
	cs := raw.conn.(*tls.Conn).ConnectionState()
	if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: ts.ca.Pool}); err != nil {
		t.Fatal(err)
	}
	if cn := cs.PeerCertificates[0].Subject.CommonName; cn != "server-2" {
		t.Fatalf("implicit listener serves %q", cn)
	}
}
