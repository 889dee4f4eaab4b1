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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// run runs a real client with a time limit and fails the test with its output if it fails.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	da, errA := os.ReadFile(a)
	db, errB := os.ReadFile(b)
	if errA != nil || errB != nil || !bytes.Equal(da, db) {
		t.Fatalf("%s and %s differ (%v, %v; %d and %d bytes)", a, b, errA, errB, len(da), len(db))
	}
}

// TestCurl uploads and downloads with curl over plain FTP, explicit FTPS (with and without EPSV) and implicit
// FTPS, with the server requiring TLS session reuse.
func TestCurl(t *testing.T) {
	realclient.Require(t, "curl")
	ts := startServer(t, func(s *Settings) { s.TLSMode = serverconfig.TLSOptional })
	work := t.TempDir()
	local := filepath.Join(work, "payload.bin")
	if err := os.WriteFile(local, payload.Random(1<<20+3), 0o600); err != nil {
		t.Fatal(err)
	}
	port := portOf(t, ts.addr)
	implicitPort := portOf(t, ts.implicitAddr)
	userinfo := "alice:" + passwords["alice"]
	common := []string{"--silent", "--show-error", "--fail", "--max-time", "20"}
	tlsArgs := append(append([]string{}, common...), "--cacert", ts.ca.CAFile)
	curlRoundTrips(t, ts, local, "curl-", []curlCase{
		{"plain", fmt.Sprintf("ftp://%s@127.0.0.1:%s/", userinfo, port), common},
		{"explicit", fmt.Sprintf("ftp://%s@127.0.0.1:%s/", userinfo, port), append([]string{"--ssl-reqd"}, tlsArgs...)},
		{"explicit-pasv", fmt.Sprintf("ftp://%s@127.0.0.1:%s/", userinfo, port),
			append([]string{"--ssl-reqd", "--disable-epsv"}, tlsArgs...)},
		{"implicit", fmt.Sprintf("ftps://%s@127.0.0.1:%s/", userinfo, implicitPort), tlsArgs},
	})
}

// curlCase is one way of calling curl: the URL of alice's home and the options.
type curlCase struct {
	name string
	url  string
	args []string
}

// curlRoundTrips uploads local to alice's home with each case, as prefix+name+".bin", and downloads it back,
// byte-comparing both copies.
func curlRoundTrips(t *testing.T, ts *testServer, local, prefix string, cases []curlCase) {
	t.Helper()
	work := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			remote := prefix + tc.name + ".bin"
			run(t, "curl", append(tc.args, "-T", local, tc.url+remote)...)
			sameFile(t, local, filepath.Join(ts.home("alice"), remote))
			back := filepath.Join(work, remote)
			run(t, "curl", append(tc.args, "-o", back, tc.url+remote)...)
			sameFile(t, local, back)
		})
	}
}

// TestLftp uploads and downloads with lftp over explicit FTPS with protected data connections, the server
// requiring TLS and session reuse.
func TestLftp(t *testing.T) {
	realclient.Require(t, "lftp")
	ts := startServer(t)
	work := t.TempDir()
	local := filepath.Join(work, "payload.bin")
	if err := os.WriteFile(local, payload.Random(1<<20+5), 0o600); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(work, "back.bin")
	port := portOf(t, ts.addr)
	script := ts.lftpScript(
		fmt.Sprintf("open -u alice,%s -p %s 127.0.0.1", passwords["alice"], port),
		"mkdir incoming",
		"put "+local+" -o incoming/lftp.bin",
		"ls incoming",
		"get incoming/lftp.bin -o "+back,
		"bye",
	)
	run(t, "lftp", "-c", script)
	sameFile(t, local, filepath.Join(ts.home("alice"), "incoming", "lftp.bin"))
	sameFile(t, local, back)
}

// lftpScript is an lftp -c script running commands over explicit FTPS with protected data connections and
// listings, trusting the test CA alone, and stopping at the first command that fails.
func (ts *testServer) lftpScript(commands ...string) string {
	script := make([]string, 0, 8+len(commands))
	script = append(script,
		"set cmd:fail-exit true", "set net:max-retries 1", "set net:timeout 10",
		"set ssl:ca-file "+ts.ca.CAFile, "set ssl:verify-certificate true",
		"set ftp:ssl-force true", "set ftp:ssl-protect-data true", "set ftp:ssl-protect-list true",
	)
	return strings.Join(append(script, commands...), "; ")
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}
