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
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/poll"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// The helper process of TestKilledServerResumedUpload: this test binary, run again with these variables set,
// serves SFTP from a directory until it is killed.
const (
	helperDirEnv  = "PIER_SFTP_HELPER_DIR"
	helperAddrEnv = "PIER_SFTP_HELPER_ADDR"
)

// TestHelperServer is not a test: it is the server process that TestKilledServerResumedUpload kills.
func TestHelperServer(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("the helper process of TestKilledServerResumedUpload")
	}
	startServerIn(t, dir, os.Getenv(helperAddrEnv))
	fmt.Println("READY")
	select {} // until SIGKILL
}

// killableServer runs TestHelperServer in its own process.
type killableServer struct {
	t         *testing.T
	dir, addr string
	cmd       *exec.Cmd
}

func (s *killableServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperServer$", "-test.count=1")
	s.cmd.Env = append(os.Environ(), helperDirEnv+"="+s.dir, helperAddrEnv+"="+s.addr)
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "READY" {
		s.t.Fatalf("the server process did not start: %q %v", line, err)
	}
}

func (s *killableServer) kill() {
	s.t.Helper()
	if err := s.cmd.Process.Kill(); err != nil { // SIGKILL: no drain, no close, no sync
		s.t.Fatal(err)
	}
	_ = s.cmd.Wait() // "signal: killed" is the expected result
}

// TestKilledServerResumedUpload kills the server (SIGKILL) in the middle of an upload by OpenSSH's sftp, twice:
// once during the first put, once during the reput that resumes it. After each kill the file on the server must
// be a prefix of the upload with no hole (what `reput` trusts when it resumes from the file's size), and after a
// restart `reput` must complete it byte for byte.
func TestKilledServerResumedUpload(t *testing.T) {
	realclient.Require(t, "sftp", "sshpass")
	dir := t.TempDir()
	server := &killableServer{t: t, dir: dir, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(testcreds.FreePort(t)))}
	server.start()
	t.Cleanup(func() { _ = server.cmd.Process.Kill() })

	knownHosts := knownHostsFile(t, server.addr, filepath.Join(dir, "host_key"))
	_, port, _ := net.SplitHostPort(server.addr)
	data := payload.Random(48<<20 + 5)
	local := writeFile(t, t.TempDir(), "big.bin", data)
	remote := filepath.Join(dir, "storage", "alice", "big.bin")
	sftpCommand := func(command string, limitKbps int) *exec.Cmd {
		args := realclient.PasswordSFTPArgs(knownHosts, "-b", "-", "-P", port)
		if limitKbps > 0 {
			args = append(args, "-l", strconv.Itoa(limitKbps))
		}
		cmd := exec.Command("sshpass", append(args, "alice@127.0.0.1")...)
		cmd.Env = append(os.Environ(), "SSHPASS="+passwords["alice"])
		cmd.Stdin = strings.NewReader(command + " " + local + " big.bin\n")
		return cmd
	}

	// killDuring runs command slowly (about 12 MB/s), kills the server once the file has grown by 8 MiB, and
	// checks what the kill left behind.
	killDuring := func(command string) {
		t.Helper()
		before := fileSize(remote)
		client := sftpCommand(command, 100_000)
		var out bytes.Buffer
		client.Stdout, client.Stderr = &out, &out
		if err := client.Start(); err != nil {
			t.Fatal(err)
		}
		poll.Until(t, command+" writing 8 MiB", 30*time.Second, func() error {
			if size := fileSize(remote); size < before+8<<20 {
				return fmt.Errorf("the file has %d bytes", size)
			}
			return nil
		})
		server.kill()
		if err := client.Wait(); err == nil {
			t.Fatalf("%s completed although the server was killed:\n%s", command, out.String())
		}
		onDisk, err := os.ReadFile(remote)
		if err != nil {
			t.Fatal(err)
		}
		if len(onDisk) >= len(data) {
			t.Fatalf("the upload was complete before the kill (%d bytes); the test did not interrupt it", len(onDisk))
		}
		sameBytes(t, "the file the killed server left ("+command+")", onDisk, data[:len(onDisk)])
		server.start()
	}

	killDuring("put")
	killDuring("reput")
	if out, err := sftpCommand("reput", 0).CombinedOutput(); err != nil {
		t.Fatalf("reput after the restart: %v\n%s", err, out)
	}
	got, err := os.ReadFile(remote)
	if err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "the upload resumed after two kills", got, data)
}

func fileSize(name string) int64 {
	info, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return info.Size()
}
