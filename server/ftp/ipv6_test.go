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
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
	"github.com/pier-dev/pier/internal/testsupport/testnet"
)

// TestCurlIPv6 uploads and downloads with curl over [::1]: plain FTP, explicit FTPS (curl always uses EPSV over
// IPv6, even when told not to) and implicit FTPS, the server requiring TLS session reuse.
func TestCurlIPv6(t *testing.T) {
	realclient.Require(t, "curl")
	ts := startServer(t, func(s *Settings) { s.TLSMode = serverconfig.TLSOptional })
	explicit, implicit := ts.listenIPv6(t)
	work := t.TempDir()
	local := filepath.Join(work, "payload.bin")
	if err := os.WriteFile(local, payload.Random(1<<20+11), 0o600); err != nil {
		t.Fatal(err)
	}
	userinfo := "alice:" + passwords["alice"]
	// -g: the brackets of [::1] are the URL's, not a glob.
	common := []string{"-g", "--silent", "--show-error", "--fail", "--max-time", "20"}
	tlsArgs := append(append([]string{}, common...), "--cacert", ts.ca.CAFile)
	curlRoundTrips(t, ts, local, "curl6-", []curlCase{
		{"plain", "ftp://" + userinfo + "@" + explicit + "/", common},
		{"explicit-epsv", "ftp://" + userinfo + "@" + explicit + "/", append([]string{"--ssl-reqd", "--epsv"}, tlsArgs...)},
		{"explicit-disable-epsv", "ftp://" + userinfo + "@" + explicit + "/",
			append([]string{"--ssl-reqd", "--disable-epsv"}, tlsArgs...)},
		{"implicit", "ftps://" + userinfo + "@" + implicit + "/", tlsArgs},
	})
}

// TestLftpIPv6 uploads, lists and downloads with lftp over [::1], explicit FTPS with protected data connections,
// the server requiring TLS and session reuse: in passive mode (EPSV) and in active mode (EPRT), where lftp must
// not have fallen back to passive mode.
func TestLftpIPv6(t *testing.T) {
	realclient.Require(t, "lftp")
	ts := startServer(t, func(s *Settings) { s.ActiveMode = true })
	explicit, _ := ts.listenIPv6(t)
	work := t.TempDir()
	local := filepath.Join(work, "payload.bin")
	if err := os.WriteFile(local, payload.Random(1<<20+13), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []struct{ name, passive, command string }{
		{"passive", "on", "EPSV"},
		{"active", "off", "EPRT |2|"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			dir := "incoming-" + mode.name
			back := filepath.Join(work, mode.name+".bin")
			script := ts.lftpScript(
				"set ftp:passive-mode "+mode.passive,
				"debug 5", // prints the commands, which the test checks
				fmt.Sprintf("open -u alice,%s ftp://%s", passwords["alice"], explicit),
				"mkdir "+dir,
				"put "+local+" -o "+dir+"/lftp6.bin",
				"ls "+dir,
				"get "+dir+"/lftp6.bin -o "+back,
				"bye",
			)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "lftp", "-c", script).CombinedOutput()
			if err != nil {
				t.Fatalf("lftp: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "---> "+mode.command) || strings.Contains(string(out), "Switching passive mode") {
				t.Fatalf("lftp did not use %s throughout:\n%s", mode.command, out)
			}
			sameFile(t, local, filepath.Join(ts.home("alice"), dir, "lftp6.bin"))
			sameFile(t, local, back)
		})
	}
}

// TestCurlActiveIPv6: curl in active mode over [::1] (EPRT to its own address) uploads and downloads. Plain FTP:
// the curl 7.88 installed here does not start TLS on the data connections it accepts (with IPv4 as well).
func TestCurlActiveIPv6(t *testing.T) {
	realclient.Require(t, "curl")
	ts := startServer(t, func(s *Settings) {
		s.ActiveMode = true
		s.TLSMode = serverconfig.TLSOptional
	})
	explicit, _ := ts.listenIPv6(t)
	work := t.TempDir()
	local := filepath.Join(work, "payload.bin")
	if err := os.WriteFile(local, payload.Random(1<<20+31), 0o600); err != nil {
		t.Fatal(err)
	}
	url := "ftp://alice:" + passwords["alice"] + "@" + explicit + "/curl6-active.bin"
	// --ftp-port -: EPRT with the address of the control connection. (Not -v: curl 7.88 then fails to print the
	// accepted connection's IPv6 address and exits 18 after a complete transfer.)
	args := []string{"-g", "--silent", "--show-error", "--fail", "--max-time", "20", "--ftp-port", "-"}
	run(t, "curl", append(args, "-T", local, url)...)
	sameFile(t, local, filepath.Join(ts.home("alice"), "curl6-active.bin"))
	back := filepath.Join(work, "back.bin")
	run(t, "curl", append(args, "-o", back, url)...)
	sameFile(t, local, back)
}

// TestGoClientIPv6: the Go client over [::1] with explicit TLS and session reuse uploads, lists and downloads
// with EPSV; told to use PASV instead, it gets a refusal that names EPSV, not a reply that would make it close
// the connection, and the session goes on.
func TestGoClientIPv6(t *testing.T) {
	ts := startServer(t)
	explicit, _ := ts.listenIPv6(t)
	data := payload.Random(3<<20 + 17)
	dial := func(options ...ftp.DialOption) *ftp.ServerConn {
		options = append([]ftp.DialOption{ftp.DialWithTimeout(10 * time.Second),
			ftp.DialWithExplicitTLS(ts.clientTLS())}, options...)
		c, err := ftp.Dial(explicit, options...)
		if err != nil {
			t.Fatalf("connecting to %s: %v", explicit, err)
		}
		t.Cleanup(func() { _ = c.Quit() })
		if err := c.Login("alice", passwords["alice"]); err != nil {
			t.Fatalf("logging in: %v", err)
		}
		return c
	}

	c := dial()
	if err := c.Stor("go6.bin", bytes.NewReader(data)); err != nil {
		t.Fatalf("STOR over IPv6: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(ts.home("alice"), "go6.bin")); !bytes.Equal(got, data) {
		t.Fatalf("the uploaded file differs (%d bytes on disk, %d sent)", len(got), len(data))
	}
	if entries, err := c.List("/"); err != nil || len(entries) != 1 || entries[0].Name != "go6.bin" {
		t.Fatalf("LIST over IPv6: %v, %v", entries, err)
	}
	if got := retrieve(t, c, "go6.bin", 0); !bytes.Equal(got, data) {
		t.Fatalf("the downloaded file differs (%d bytes, want %d)", len(got), len(data))
	}
	if got := retrieve(t, c, "go6.bin", 1<<20); !bytes.Equal(got, data[1<<20:]) {
		t.Fatal("the resumed download differs")
	}

	pasv := dial(ftp.DialWithDisabledEPSV(true))
	_, err := pasv.Retr("go6.bin")
	if replyCode(err) != 501 || !strings.Contains(err.Error(), "EPSV") {
		t.Fatalf("PASV over IPv6: %v, want 501 naming EPSV", err)
	}
	if err := pasv.NoOp(); err != nil {
		t.Fatalf("the session ended after the refused PASV: %v", err)
	}
}

// TestPassiveIPv6: over [::1], PASV is refused with a reply that names EPSV (it can carry only IPv4), whatever
// public addresses are configured, and without a passive port being taken; EPSV hands out ports of the range,
// and a passive data connection from another address of this machine is dropped while the client's own gets
// the data.
func TestPassiveIPv6(t *testing.T) {
	ts := startServer(t)
	explicit, _ := ts.listenIPv6(t)
	writeHomeFile(t, ts, "alice", "f.txt", []byte("for alice over IPv6"))
	for _, public := range [][]string{nil, {"192.0.2.10"}} {
		t.Run(fmt.Sprintf("public=%v", public), func(t *testing.T) {
			settings := ts.settings
			settings.PublicAddresses = public
			ts.SetSettings(settings)
			c := protectedSession(t, ts, explicit)
			if msg := c.expect(501, "PASV"); !strings.Contains(msg, "EPSV") {
				t.Fatalf("PASV over IPv6: %q does not name EPSV", msg)
			}
			if port := c.epsv(); !ts.settings.PassivePorts.Contains(port) {
				t.Fatalf("EPSV port %d outside %v", port, ts.settings.PassivePorts)
			}
		})
	}

	// A stranger: an address of this machine that the test set up, which is not the client's.
	ns := testnet.NewNamespace(t)
	c := protectedSession(t, ts, explicit)
	port := c.epsv()
	dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: ns.HostAddr.AsSlice()}, Timeout: 10 * time.Second}
	stranger, err := dialer.Dial("tcp", net.JoinHostPort(ns.HostAddr.String(), fmt.Sprint(port)))
	if err != nil {
		t.Fatalf("the stranger could not reach the passive port: %v", err)
	}
	defer func() { _ = stranger.Close() }()
	data := c.dialData(port, c.tls)
	c.expect(150, "RETR f.txt")
	got, _ := io.ReadAll(data)
	if code, _ := c.read("end of RETR"); code != 226 || string(got) != "for alice over IPv6" {
		t.Fatalf("the client got %d %q", code, got)
	}
	// The server closed the stranger's connection at once; it never was the data connection.
	_ = stranger.SetDeadline(time.Now().Add(15 * time.Second))
	if got, err := io.ReadAll(stranger); len(got) > 0 || err != nil {
		t.Fatalf("the stranger received %q (%v), want a closed connection", got, err)
	}
}
