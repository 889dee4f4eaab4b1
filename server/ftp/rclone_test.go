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
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// TestRcloneConcurrentSync is issue 10's report: rclone keeps one TLS session cache per host for all its
// connections, so with --transfers 8 --checkers 8 a data connection often resumes the session a sibling
// control connection stored last. The server requires session reuse; every one of the 1,000 files must
// arrive (rclone is told not to retry, so no refusal can hide behind a retry), and `rclone check` must find
// no difference. It runs over TLS 1.3 and TLS 1.2, whose session tickets travel differently, and over implicit
// FTPS.
func TestRcloneConcurrentSync(t *testing.T) {
	realclient.Require(t, "rclone")
	for _, tc := range []struct {
		name         string
		disableTLS13 bool
		implicit     bool
		files        int
	}{
		{"explicit TLS 1.3", false, false, 1000},
		{"explicit TLS 1.2", true, false, 300},
		{"implicit TLS 1.3", false, true, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t)
			src := t.TempDir()
			for i := range tc.files {
				size := mrand.IntN(2048) //nolint:gosec // file sizes for a test
				name := filepath.Join(src, fmt.Sprintf("d%02d", i%20), fmt.Sprintf("f%04d.bin", i))
				if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(name, payload.Random(size), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			rc := newRclone(t, ts, tc.disableTLS13, tc.implicit)
			start := time.Now()
			rc.run(t, "sync", src, "pier:sync", "--transfers", "8", "--checkers", "8")
			rc.run(t, "check", src, "pier:sync", "--checkers", "8")
			t.Logf("%d files synced and checked in %s", tc.files, time.Since(start).Round(time.Millisecond))
			// rclone's check compares sizes (FTP has no hashes); compare the bytes on the server's disk as well.
			err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(src, path) // path is under src
				sameFile(t, path, filepath.Join(ts.home("alice"), "sync", rel))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// rclone runs the rclone binary against one test server, with a remote "pier" in a config file of its own.
type rclone struct {
	env  []string
	conf string
}

func newRclone(t *testing.T, ts *testServer, disableTLS13, implicit bool) *rclone {
	t.Helper()
	dir := t.TempDir()
	rc := &rclone{
		conf: filepath.Join(dir, "rclone.conf"),
		// Go's crypto/x509 reads SSL_CERT_FILE: rclone trusts the test CA and checks the certificate.
		env: append(os.Environ(), "SSL_CERT_FILE="+ts.ca.CAFile, "HOME="+dir, "XDG_CONFIG_HOME="+dir,
			"XDG_CACHE_HOME="+dir),
	}
	obscured := rc.output(t, "obscure", passwords["alice"])
	addr, tlsMode := ts.addr, "explicit_tls = true"
	if implicit {
		addr, tlsMode = ts.implicitAddr, "tls = true"
	}
	conf := strings.Join([]string{
		"[pier]",
		"type = ftp",
		"host = 127.0.0.1",
		"port = " + portOf(t, addr),
		"user = alice",
		"pass = " + strings.TrimSpace(obscured),
		tlsMode,
		fmt.Sprintf("disable_tls13 = %t", disableTLS13),
		"",
	}, "\n")
	if err := os.WriteFile(rc.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return rc
}

// run runs one rclone command without retries and fails the test with a summary of rclone's errors if it fails:
// how many files failed and why (rclone prints each cause on its own "\t* " line).
func (rc *rclone) run(t *testing.T, args ...string) {
	t.Helper()
	args = append(args, "--retries", "1", "--low-level-retries", "1", "--stats", "0")
	out, err := rc.command(args...)
	if err == nil {
		return
	}
	failed, causes := 0, map[string]int{}
	for line := range strings.Lines(out) {
		switch {
		case strings.Contains(line, "Failed to copy"):
			failed++
		case strings.HasPrefix(line, "\t* "):
			causes[strings.TrimSpace(line)]++
		}
	}
	t.Fatalf("rclone %s: %v; %d files failed to copy; causes: %v\nlast lines:\n%s", args[0], err, failed, causes,
		out[max(0, len(out)-2000):])
}

func (rc *rclone) output(t *testing.T, args ...string) string {
	t.Helper()
	out, err := rc.command(args...)
	if err != nil {
		t.Fatalf("rclone %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (rc *rclone) command(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "rclone", append([]string{"--config", rc.conf}, args...)...)
	cmd.Env = rc.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
