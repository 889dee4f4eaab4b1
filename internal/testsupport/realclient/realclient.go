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

// Package realclient lets tests drive real client programs (OpenSSH sftp and scp, sshpass, curl, lftp, rclone,
// Python's ftplib): find them, keep one connected while the test acts, and pin an SSH server's host key for
// OpenSSH.
package realclient

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Require returns the path of each named program. A missing program fails the test when PIER_REQUIRE_CLIENTS=1
// (set by `make test`, whose set-up installs them) and skips it otherwise, naming the script that installs them.
func Require(t testing.TB, programs ...string) []string {
	t.Helper()
	paths := make([]string, 0, len(programs))
	for _, p := range programs {
		path, err := exec.LookPath(p)
		if err != nil {
			msg := p + " is not installed; run hack/install-test-clients.sh (make test does)"
			if os.Getenv("PIER_REQUIRE_CLIENTS") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		paths = append(paths, path)
	}
	return paths
}

// OpenSSHOptions make OpenSSH's ssh, sftp and scp trust exactly the host keys in the file knownHosts, and nothing
// of the machine's or the user's configuration (no ssh_config, no other known_hosts): a test then shows what a
// client with strict host key checking sees. Errors only, so that a failure's output is the client's complaint.
func OpenSSHOptions(knownHosts string) []string {
	return []string{
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes",
		"-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-F", "/dev/null",
	}
}

// PasswordSFTPArgs are the arguments of sshpass that run OpenSSH's sftp pinned to knownHosts (OpenSSHOptions),
// logging in with a password only, followed by args. Run them as `sshpass` with the password in SSHPASS.
func PasswordSFTPArgs(knownHosts string, args ...string) []string {
	// sftp -b implies BatchMode=yes, which forbids password prompts; an earlier BatchMode=no wins.
	out := append([]string{"-e", "sftp", "-o", "BatchMode=no"}, OpenSSHOptions(knownHosts)...)
	out = append(out, "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no")
	return append(out, args...)
}

// KnownHosts writes a known_hosts file that pins key for the server at addr (host:port, an IPv6 host in
// brackets), in the form OpenSSH looks it up, and returns its path.
func KnownHosts(t testing.TB, addr string, key ssh.PublicKey) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
	if err := os.WriteFile(file, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// Process is a client program that stays connected while the test feeds it through Stdin: a session in the
// middle of a transfer, or logged in and waiting for its next command, for as long as the test needs one.
type Process struct {
	Stdin io.WriteCloser
	done  chan struct{} // closed when the program has exited, with its error in err
	err   error
}

// Start starts cmd with a pipe to its standard input. When the test ends, the program is killed if it still runs,
// and waited for.
func Start(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{done: make(chan struct{})}
	var err error
	if p.Stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // the client this test started; an error only says it has exited already
		<-p.done
	})
	return p
}

// Exited reports whether the program has exited, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Wait waits up to timeout for the program to exit, and reports whether it did and how. The timeout bounds a hung
// test; it is not a measurement.
func (p *Process) Wait(timeout time.Duration) (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	case <-time.After(timeout):
		return false, nil
	}
}
