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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pier-dev/pier/internal/testsupport/realclient"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// TestPortablePasswordSources runs portable with its password from each source and logs in with OpenSSH's sftp
// using it. A password the user chose appears neither in the log nor in what portable prints.
func TestPortablePasswordSources(t *testing.T) {
	realclient.Require(t, "sftp", "sshpass")
	dir := t.TempDir()
	passwordFile := filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte("pw-from-the-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("every flag from PIER_* variables", func(t *testing.T) {
		p := newPortable(t)
		flags := p.flags()
		env := make([]string, 0, 1+len(flags))
		env = append(env, "PIER_PASSWORD=pw-from-the-environment")
		for _, kv := range flags {
			env = append(env, envName(kv[0])+"="+kv[1])
		}
		out := p.run(t, env, "pw-from-the-environment")
		if strings.Contains(out, "password is visible") {
			t.Errorf("a password from PIER_PASSWORD was warned about as visible in ps:\n%s", out)
		}
	})
	t.Run("--password-file beats PIER_PASSWORD", func(t *testing.T) {
		p := newPortable(t)
		p.run(t, []string{"PIER_PASSWORD=pw-not-used"}, "pw-from-the-file", "--password-file", passwordFile)
	})
	t.Run("PIER_PASSWORD_FILE", func(t *testing.T) {
		p := newPortable(t)
		p.run(t, []string{"PIER_PASSWORD_FILE=" + passwordFile}, "pw-from-the-file")
	})
	t.Run("--password, with a warning", func(t *testing.T) {
		p := newPortable(t)
		out := p.run(t, []string{"PIER_PASSWORD=pw-not-used"}, "pw-on-the-command-line", "--password", "pw-on-the-command-line")
		if !strings.Contains(out, "--password is visible to every user of this machine") {
			t.Errorf("no warning that --password shows in ps:\n%s", out)
		}
	})
}

// portableRun is one portable server's folder and ports.
type portableRun struct {
	dir, root, infoFile string
	ports               map[string]int
}

func newPortable(t *testing.T) *portableRun {
	t.Helper()
	dir := t.TempDir()
	p := &portableRun{dir: dir, root: filepath.Join(dir, "root"), infoFile: filepath.Join(dir, "info.env"), ports: map[string]int{}}
	if err := os.Mkdir(p.root, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sftp-port", "ftp-port", "ftps-port", "health-port", "passive"} {
		p.ports[name] = testcreds.FreePort(t)
	}
	return p
}

// flags are the flags of this run but the password, as name and value.
func (p *portableRun) flags() [][2]string {
	return [][2]string{
		{"root", p.root}, {"state-dir", filepath.Join(p.dir, "state")}, {"info-file", p.infoFile},
		{"username", "tester"}, {"log-format", "text"}, {"log-level", "debug"},
		{"sftp-port", strconv.Itoa(p.ports["sftp-port"])}, {"ftp-port", strconv.Itoa(p.ports["ftp-port"])},
		{"ftps-port", strconv.Itoa(p.ports["ftps-port"])}, {"health-port", strconv.Itoa(p.ports["health-port"])},
		{"passive-ports", strconv.Itoa(p.ports["passive"]) + "-" + strconv.Itoa(p.ports["passive"])},
	}
}

// run starts portable with the PIER_* variables in env and args, or with the flags when env sets none of them,
// uploads a file with sftp logging in with password, stops the server and returns its output (stdout and the
// log), which must not contain the password.
func (p *portableRun) run(t *testing.T, env []string, password string, args ...string) string {
	t.Helper()
	full := []string{"portable"}
	if !strings.Contains(strings.Join(env, "\n"), "PIER_ROOT=") {
		for _, kv := range p.flags() {
			full = append(full, "--"+kv[0], kv[1])
		}
	}
	cmd := exec.Command(binary(t), append(full, args...)...)
	cmd.Env = environ(env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	exited := start(t, cmd)

	waitForFile(t, p.infoFile, exited, &stderr)
	info := readInfo(t, p.infoFile)
	if info["PASSWORD"] != password || info["SFTP_PORT"] != strconv.Itoa(p.ports["sftp-port"]) || info["USERNAME"] != "tester" {
		t.Fatalf("info file %v: want password %q, SFTP port %d, user tester", info, password, p.ports["sftp-port"])
	}
	sftpUpload(t, p.dir, p.root, info, &stderr)

	stopWithSIGTERM(t, cmd, exited, &stderr)
	out := stdout.String() + stderr.String()
	if strings.Contains(out, password) {
		t.Errorf("the password %q is in portable's output:\n%s", password, out)
	}
	if !strings.Contains(stdout.String(), "sftp -P "+strconv.Itoa(p.ports["sftp-port"])) {
		t.Errorf("portable did not print how to connect:\n%s", stdout.String())
	}
	return out
}
