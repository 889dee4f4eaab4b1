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
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// TestRealClientsResumeAndAppend: the FTP side of the resumed-upload report. curl resumes uploads (`-C -`, which
// asks SIZE and sends the rest with APPE) and downloads (REST+RETR), and appends (`--append`); lftp continues
// uploads and downloads (`put -c`, `get -c`: REST+STOR, REST+RETR). Files of 10 MB and more, byte-compared.
func TestRealClientsResumeAndAppend(t *testing.T) {
	realclient.Require(t, "curl", "lftp")
	ts := startServer(t)
	work := t.TempDir()
	full := payload.Random(10_000_000 + 9)
	fullFile := filepath.Join(work, "full.bin")
	if err := os.WriteFile(fullFile, full, 0o600); err != nil {
		t.Fatal(err)
	}
	home := ts.home("alice")
	if err := os.MkdirAll(home, 0o750); err != nil {
		t.Fatal(err)
	}
	// partial leaves the first n bytes of full at path, as an interrupted transfer would.
	partial := func(path string, n int) {
		t.Helper()
		if err := os.WriteFile(path, full[:n], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	url := fmt.Sprintf("ftp://alice:%s@127.0.0.1:%s/", passwords["alice"], portOf(t, ts.addr))
	curl := []string{"--silent", "--show-error", "--fail", "--max-time", "20", "--ssl-reqd", "--cacert", ts.ca.CAFile}

	t.Run("curl resumed upload", func(t *testing.T) {
		partial(filepath.Join(home, "curl-up.bin"), 3_000_001)
		run(t, "curl", append(curl, "-C", "-", "-T", fullFile, url+"curl-up.bin")...)
		sameFile(t, fullFile, filepath.Join(home, "curl-up.bin"))
	})
	t.Run("curl append", func(t *testing.T) {
		partial(filepath.Join(home, "curl-append.bin"), 4_000_003)
		tail := filepath.Join(work, "tail.bin")
		if err := os.WriteFile(tail, full[4_000_003:], 0o600); err != nil {
			t.Fatal(err)
		}
		run(t, "curl", append(curl, "--append", "-T", tail, url+"curl-append.bin")...)
		sameFile(t, fullFile, filepath.Join(home, "curl-append.bin"))
	})
	t.Run("curl resumed download", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(home, "curl-down.bin"), full, 0o600); err != nil {
			t.Fatal(err)
		}
		local := filepath.Join(work, "curl-down.bin")
		partial(local, 5_000_007)
		run(t, "curl", append(curl, "-C", "-", "-o", local, url+"curl-down.bin")...)
		sameFile(t, fullFile, local)
	})
	t.Run("lftp put -c and get -c", func(t *testing.T) {
		partial(filepath.Join(home, "lftp-up.bin"), 2_500_003)
		if err := os.WriteFile(filepath.Join(home, "lftp-down.bin"), full, 0o600); err != nil {
			t.Fatal(err)
		}
		local := filepath.Join(work, "lftp-down.bin")
		partial(local, 6_000_001)
		script := ts.lftpScript(
			fmt.Sprintf("open -u alice,%s -p %s 127.0.0.1", passwords["alice"], portOf(t, ts.addr)),
			"put -c "+fullFile+" -o lftp-up.bin",
			"get -c lftp-down.bin -o "+local,
			"bye",
		)
		run(t, "lftp", "-c", script)
		sameFile(t, fullFile, filepath.Join(home, "lftp-up.bin"))
		sameFile(t, fullFile, local)
	})
}
