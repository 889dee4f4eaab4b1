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
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// docsBlock is a fenced sh block of a page, and the line before it (a "docs-test: skip" comment skips it).
var docsBlock = regexp.MustCompile("(?m)^(.*)\n```sh\n((?s:.*?))```")

// docsReport is what the page writes into report.csv before its commands upload it.
const docsReport = "date,amount\n"

// TestClientDocs runs every sh block of docs/clients.md, as a reader would paste them, against pier-server
// portable with a key for SFTP and a password for FTPS: the variables the page uses are those of portable's
// info file (and make demo's env file), plus HOST and SSH_KEY_FILE. Then every file the blocks uploaded must be on
// the server with the content sent, and every file they downloaded must hold it too.
func TestClientDocs(t *testing.T) {
	realclient.Require(t, "sftp", "scp", "ssh-keygen", "curl", "lftp", "rclone", "bash")
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	root := filepath.Join(dir, "root")
	for _, d := range []string{work, root, filepath.Join(dir, "home")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	keyFile := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	info, stop := startPortable(t, dir, root, keyFile+".pub")
	defer stop()

	if err := os.WriteFile(filepath.Join(work, "report.csv"), []byte(docsReport), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(environ(), "HOME="+filepath.Join(dir, "home"), "HOST=127.0.0.1", "SSH_KEY_FILE="+keyFile)
	for _, key := range []string{"SFTP_PORT", "FTP_PORT", "FTPS_PORT", "USERNAME", "PASSWORD", "CA_FILE", "KNOWN_HOSTS_FILE"} {
		env = append(env, key+"="+info[key])
	}
	page, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "docs", "clients.md"))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, m := range docsBlock.FindAllSubmatch(page, -1) {
		if bytes.Contains(m[1], []byte("docs-test: skip")) {
			continue
		}
		ran++
		cmd := exec.Command("bash", "-eu", "-o", "pipefail", "-c", string(m[2]))
		cmd.Dir, cmd.Env = work, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("docs/clients.md block %d failed: %v\n%s\noutput:\n%s", ran, err, m[2], out)
		}
	}
	if ran < 8 {
		t.Fatalf("ran %d blocks of docs/clients.md, want its 8 or more (OpenSSH, curl, lftp, rclone)", ran)
	}
	uploads := []string{"openssh.csv", "curl-ftps.csv", "curl/implicit.csv", "curl-sftp.csv", "lftp.csv",
		"lftp-implicit.csv", "rclone/ftps.csv", "rclone/sftp.csv"}
	downloads := []string{"openssh-back.csv", "curl-ftps-back.csv", "lftp-back.csv", "rclone-ftps-back.csv"}
	for _, f := range uploads {
		checkContent(t, filepath.Join(root, f), "uploaded")
	}
	for _, f := range downloads {
		checkContent(t, filepath.Join(work, f), "downloaded")
	}
}

// startPortable starts pier-server portable serving root, with a password of its own and authorizedKeys for SFTP,
// and returns its info file's variables and how to stop it.
func startPortable(t *testing.T, dir, root, authorizedKeys string) (map[string]string, func()) {
	t.Helper()
	infoFile := filepath.Join(dir, "info.env")
	port := func() string { return strconv.Itoa(testcreds.FreePort(t)) }
	// rclone opens several connections at once, each needing a passive port; ftpserverlib moves on to the next
	// port of the range when one is taken.
	passive := min(testcreds.FreePort(t), 65535-19)
	cmd := exec.Command(binary(t), "portable", "--root", root, "--state-dir", filepath.Join(dir, "state"),
		"--info-file", infoFile, "--username", "partner", "--authorized-keys", authorizedKeys,
		"--sftp-port", port(), "--ftp-port", port(), "--ftps-port", port(), "--health-port", port(),
		"--passive-ports", strconv.Itoa(passive)+"-"+strconv.Itoa(passive+19))
	cmd.Env = environ()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	exited := start(t, cmd)
	waitForFile(t, infoFile, exited, &stderr)
	return readInfo(t, infoFile), func() {
		if t.Failed() {
			t.Logf("pier-server's log:\n%s", stderr.String())
		}
		stopWithSIGTERM(t, cmd, exited, &stderr)
	}
}

// checkContent fails the test unless file holds the report the page's commands send.
func checkContent(t *testing.T, file, what string) {
	t.Helper()
	got, err := os.ReadFile(file)
	if err != nil {
		t.Errorf("%s file: %v", what, err)
		return
	}
	if string(got) != docsReport {
		t.Errorf("%s file %s holds %q, want %q", what, file, got, docsReport)
	}
}
