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

package sftp

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// TestPooledBuffersKeepEveryByte: the request server's packet buffers come from one process-wide pool
// (third_party/README.md) and go back to it once a reply is sent. A buffer reused too early would put one
// transfer's bytes into another's, so four OpenSSH sftp sessions (64 requests in flight each) upload and download
// different files at the same time, and every byte is compared on both sides.
func TestPooledBuffersKeepEveryByte(t *testing.T) {
	realclient.Require(t, "sftp")
	ts := startServer(t)
	_, port, _ := net.SplitHostPort(ts.addr)
	keyFile, knownHosts := opensshAlice(t, ts, ts.addr)
	home := filepath.Join(ts.storage, "alice")
	if err := os.MkdirAll(home, 0o750); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	const sessions = 4
	payloads := make([][]byte, sessions)
	for i := range payloads {
		payloads[i] = payload.Random(3<<20 + 1000*i + 7) // different sizes, none a multiple of 32 KiB
		if err := os.WriteFile(filepath.Join(work, fmt.Sprintf("up-%d.bin", i)), payloads[i], 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, fmt.Sprintf("down-%d.bin", i)), payloads[i], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, sessions)
	for i := range sessions {
		wg.Go(func() {
			batch := filepath.Join(work, fmt.Sprintf("batch-%d", i))
			script := fmt.Sprintf("put %s\nget down-%d.bin %s\n", filepath.Join(work, fmt.Sprintf("up-%d.bin", i)), i,
				filepath.Join(work, fmt.Sprintf("back-%d.bin", i)))
			if err := os.WriteFile(batch, []byte(script), 0o600); err != nil {
				errs[i] = err
				return
			}
			args := append(realclient.OpenSSHOptions(knownHosts), "-b", batch, "-P", port, "-i", keyFile,
				"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "alice@127.0.0.1")
			if out, err := exec.Command("sftp", args...).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("sftp: %w\n%s", err, out)
			}
		})
	}
	wg.Wait()
	for i := range sessions {
		if errs[i] != nil {
			t.Fatalf("session %d: %v", i, errs[i])
		}
		if got, err := os.ReadFile(filepath.Join(home, fmt.Sprintf("up-%d.bin", i))); err != nil || !bytes.Equal(got, payloads[i]) {
			t.Errorf("session %d: the upload on the server differs from what was sent (%v)", i, err)
		}
		if got, err := os.ReadFile(filepath.Join(work, fmt.Sprintf("back-%d.bin", i))); err != nil || !bytes.Equal(got, payloads[i]) {
			t.Errorf("session %d: the download differs from the file on the server (%v)", i, err)
		}
	}
}
