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
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// TestOpenSSHShellIsRefusedWithTheMessage runs OpenSSH's ssh the ways people try it on an SFTP server, some inside
// a real terminal made by script(1) as when typed by hand. Every way must print pier's explanation and exit with
// status 1. With a terminal (`ssh host` or `ssh -t host` typed in one, or -tt), ssh sends a pty-req first; when
// the server refused it, ssh printed only "PTY allocation request failed on channel 0" and exited with 255.
func TestOpenSSHShellIsRefusedWithTheMessage(t *testing.T) {
	realclient.Require(t, "ssh", "script")
	ts := startServer(t)
	_, port, _ := net.SplitHostPort(ts.addr)
	keyFile, knownHosts := opensshAlice(t, ts, ts.addr)
	const host = "alice@127.0.0.1"

	for _, tc := range []struct {
		name     string
		terminal bool // run ssh on a real terminal
		pty      bool // ssh asks for a terminal
		args     []string
	}{
		{"ssh host typed in a terminal", true, true, []string{host}},
		{"ssh -t host typed in a terminal", true, true, []string{"-t", host}},
		{"ssh -tt host", false, true, []string{"-tt", host}},
		{"ssh -T host", false, false, []string{"-T", host}},
		{"ssh -tt host id", false, true, []string{"-tt", host, "id"}},
		{"ssh host id", false, false, []string{host, "id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(realclient.OpenSSHOptions(knownHosts), "-p", port, "-i", keyFile, "-o", "BatchMode=yes",
				"-o", "IdentitiesOnly=yes")
			args = append(args, tc.args...)
			cmd := exec.Command("ssh", args...)
			if tc.terminal {
				// script -e exits with ssh's status; its typescript is not wanted, only the terminal.
				cmd = exec.Command("script", "--quiet", "--return", "--command", shellJoin("ssh", args...), "/dev/null")
			}
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("%s: %v, want exit status 1\n%s", tc.name, err, out)
			}
			if !strings.Contains(string(out), "pier serves SFTP only") {
				t.Errorf("%s printed %q, want pier's refusal", tc.name, out)
			}
			if strings.Contains(string(out), "PTY allocation request failed") {
				t.Errorf("%s printed %q: the pty-req was refused", tc.name, out)
			}
			// The line ends as the client's terminal wants it: "\r\n" in raw mode, "\n" in a pipe.
			if tc.pty && (!strings.Contains(string(out), "commands\r\n") || strings.Contains(string(out), "\r\r")) {
				t.Errorf("%s printed %q, want the message to end in one \\r\\n", tc.name, out)
			}
			if !tc.pty && strings.Contains(string(out), "\r") {
				t.Errorf("%s printed %q, want no \\r without a terminal", tc.name, out)
			}
		})
	}
}

// shellJoin quotes a command line for sh -c.
func shellJoin(name string, args ...string) string {
	quoted := make([]string, 0, 1+len(args))
	quoted = append(quoted, name)
	for _, a := range args {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	return strings.Join(quoted, " ")
}

// TestSessionRequests checks each session request a client may send before the subsystem: a terminal is granted
// (it costs nothing, as nothing runs in it) and SFTP still works after it; environment variables, X11 and agent
// forwarding stay refused, since nothing could use them.
func TestSessionRequests(t *testing.T) {
	ts := startServer(t)
	conn := ts.sshLogin(t, "alice")

	sess := newSession(t, conn)
	if err := sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{ssh.ECHO: 0}); err != nil {
		t.Fatalf("pty-req refused: %v", err)
	}
	if err := sess.Setenv("LANG", "C"); err == nil {
		t.Error("env request granted")
	}
	x11 := ssh.Marshal(struct {
		SingleConnection bool
		Protocol, Cookie string
		Screen           uint32
	}{false, "MIT-MAGIC-COOKIE-1", "00112233445566778899aabbccddeeff", 0})
	if ok, err := sess.SendRequest("x11-req", true, x11); err != nil || ok {
		t.Errorf("x11-req: granted=%v, err=%v; want a refusal", ok, err)
	}
	if ok, err := sess.SendRequest("auth-agent-req@openssh.com", true, nil); err != nil || ok {
		t.Errorf("agent forwarding: granted=%v, err=%v; want a refusal", ok, err)
	}

	// The sftp subsystem on the same channel, after the pty-req.
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestSubsystem("sftp"); err != nil {
		t.Fatalf("sftp subsystem after a pty-req: %v", err)
	}
	client, err := sftp.NewClientPipe(stdout, stdin)
	if err != nil {
		t.Fatalf("sftp after a pty-req: %v", err)
	}
	defer func() { _ = client.Close() }()
	data := payload.Random(64<<10 + 5)
	upload(t, client, "after-pty.bin", data)
	if got := download(t, client, "after-pty.bin"); !bytes.Equal(got, data) {
		t.Fatal("sftp round trip after a pty-req differs")
	}

	// A terminal followed by a shell: the shell is refused with the message and exit status 1.
	shell := newSession(t, conn)
	if err := shell.RequestPty("xterm", 24, 80, nil); err != nil {
		t.Fatalf("pty-req refused: %v", err)
	}
	var stderr bytes.Buffer
	shell.Stderr = &stderr
	if err := shell.Shell(); err != nil {
		t.Fatalf("shell request: %v", err)
	}
	var exit *ssh.ExitError
	if err := shell.Wait(); !errors.As(err, &exit) || exit.ExitStatus() != 1 {
		t.Fatalf("shell after a pty-req ended with %v, want exit status 1", err)
	}
	if !strings.Contains(stderr.String(), "pier serves SFTP only") {
		t.Fatalf("shell's stderr %q lacks the refusal", stderr.String())
	}
}
