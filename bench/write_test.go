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

package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pier-dev/pier/bench/internal/report"
)

// The page the bench writes to has its markers, so that make bench can replace its table.
func TestPerformancePageHasMarkers(t *testing.T) {
	page, err := os.ReadFile("../docs/performance.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := report.ReplaceBetweenMarkers(string(page), beginMarker, endMarker, "x"); err != nil {
		t.Errorf("docs/performance.md: %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	t.Setenv("BENCH_SIZE", "256M")
	t.Setenv("BENCH_ROUNDS", "3")
	o, err := parseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.size != 256<<20 || o.rounds != 3 || o.sessions != 200 || !o.cells.MatchString("anything") {
		t.Errorf("options from the environment = %+v", o)
	}
	if o, err := parseOptions([]string{"-rounds", "1", "-cells", "^FTP"}); err != nil || o.rounds != 1 || o.cells.MatchString("SFTP download") {
		t.Errorf("a flag does not override its variable: %+v, %v", o, err)
	}
	if o, err := parseOptions([]string{"-peers", "openssh, sftpgo"}); err != nil || len(o.peers) != 2 || !o.peers["sftpgo"] || o.peers["vsftpd"] {
		t.Errorf("-peers openssh,sftpgo = %v, %v", o.peers, err)
	}
	if o, err := parseOptions([]string{"-peers", "none"}); err != nil || o.peers == nil || len(o.peers) != 0 {
		t.Errorf("-peers none = %v, %v; want an empty set", o.peers, err)
	}
	for _, args := range [][]string{{"-rounds", "0"}, {"-rounds", "x"}, {"-size", "1T"}, {"-cells", "("}, {"-sessions", "-1"}, {"-peers", "proftpd"}} {
		if _, err := parseOptions(args); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("parseOptions(%q) = %v; want an error naming %s", args, err, args[0])
		}
	}
}

func TestParseOpenSSLSpeed(t *testing.T) {
	out := "+DT:ChaCha20-Poly1305:1:32768\n+R:32613:ChaCha20-Poly1305:0.310000\n+H:32768\n+F:25:ChaCha20-Poly1305:3447299303.23\n"
	if rate, err := parseOpenSSLSpeed(out); err != nil || rate != 3447299303.23 {
		t.Errorf("parseOpenSSLSpeed = %v, %v; want 3447299303.23", rate, err)
	}
	for _, bad := range []string{"", "+F:25:AES-128-GCM:fast\n", "Doing aes-128-gcm for 1s\n"} {
		if _, err := parseOpenSSLSpeed(bad); err == nil {
			t.Errorf("parseOpenSSLSpeed(%q) gave no error", bad)
		}
	}
}

// The in-process cipher measurements run and report a rate (its size is the bench's business, not a test's).
func TestSealers(t *testing.T) {
	for name, seal := range map[string]func([]byte) func(){"aes128-gcm": sealAESGCM, "chacha20-poly1305": sealChaCha20Poly1305} {
		buf := make([]byte, cipherPacket)
		f := seal(buf)
		f()
		f()
		if rate := measureSeal(f, 10*time.Millisecond); rate <= 0 {
			t.Errorf("%s: %v bytes/s", name, rate)
		}
	}
}
