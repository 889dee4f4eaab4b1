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
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/testsupport/testcreds"

	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// readInfo parses the --info-file shell lines (KEY=value or KEY='value').
func readInfo(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	info := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		key, value, ok := strings.Cut(scanner.Text(), "=")
		if ok {
			info[key] = strings.Trim(value, "'")
		}
	}
	return info
}

// TestPortableServesARealClient runs `portable` as a user would, logs in with OpenSSH's
// sftp using only what the info file says, and stops the server with SIGTERM.
func TestPortableServesARealClient(t *testing.T) {
	realclient.Require(t, "sftp", "sshpass")
	dir := t.TempDir()
	bin := binary(t)
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o750); err != nil {
		t.Fatal(err)
	}
	infoFile := filepath.Join(dir, "info.env")
	passive := testcreds.FreePort(t)
	healthPort := testcreds.FreePort(t)
	cmd := exec.Command(bin, "portable", "--root", root, "--state-dir", filepath.Join(dir, "state"),
		"--info-file", infoFile, "--username", "tester",
		"--sftp-port", strconv.Itoa(testcreds.FreePort(t)), "--ftp-port", strconv.Itoa(testcreds.FreePort(t)),
		"--ftps-port", strconv.Itoa(testcreds.FreePort(t)), "--health-port", strconv.Itoa(healthPort),
		"--passive-ports", strconv.Itoa(passive)+"-"+strconv.Itoa(passive))
	cmd.Env = environ()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	exited := start(t, cmd)

	waitForFile(t, infoFile, exited, &stderr)
	info := readInfo(t, infoFile)
	for _, key := range []string{"SFTP_PORT", "FTP_PORT", "FTPS_PORT", "PASSIVE_PORTS", "USERNAME", "PASSWORD", "CA_FILE", "KNOWN_HOSTS_FILE", "ROOT"} {
		if info[key] == "" {
			t.Errorf("info file lacks %s", key)
		}
	}
	if len(info["PASSWORD"]) < 24 {
		t.Errorf("generated password %q is shorter than 24 characters", info["PASSWORD"])
	}

	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	sftpUpload(t, dir, root, info, &stderr)
	ftpsRoundTrip(t, dir, info, &stderr)

	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(healthPort) + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	// The profiles show the process's memory: without --pprof they are not there.
	resp, err = http.Get("http://127.0.0.1:" + strconv.Itoa(healthPort) + "/debug/pprof/")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/debug/pprof/ without --pprof: %v %v; want 404", resp, err)
	}
	_ = resp.Body.Close()

	stopWithSIGTERM(t, cmd, exited, &stderr)
}

// start starts pier-server and returns where its exit arrives. If it still runs when the test ends (the test
// failed before stopping it), it is killed.
func start(t *testing.T, cmd *exec.Cmd) <-chan error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	done := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill() // the server this test started; an error only says it has exited already
			<-done
			t.Log("pier-server killed at the end of the test")
		}
	})
	return exited
}

// stopWithSIGTERM stops pier-server as Kubernetes does and fails the test unless it exits cleanly.
func stopWithSIGTERM(t *testing.T, cmd *exec.Cmd, exited <-chan error, stderr *strings.Builder) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("pier-server exited with %v after SIGTERM\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("pier-server did not stop after SIGTERM")
	}
}

// waitForFile waits until the server wrote file, failing early if the server exits.
func waitForFile(t *testing.T, file string, exited <-chan error, stderr *strings.Builder) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(file); err == nil {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("pier-server portable exited: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 30s\n%s", file, stderr.String())
		}
	}
}

// sftpUpload puts dir/hello.txt with OpenSSH's sftp, logging in with the password from the info file and
// checking the host key against its known_hosts file.
func sftpUpload(t *testing.T, dir, root string, info map[string]string, stderr *strings.Builder) {
	t.Helper()
	batch := filepath.Join(dir, "batch")
	if err := os.WriteFile(batch, []byte("put "+filepath.Join(dir, "hello.txt")+" hello.txt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sftp := exec.Command("sshpass", realclient.PasswordSFTPArgs(info["KNOWN_HOSTS_FILE"],
		"-b", batch, "-P", info["SFTP_PORT"], info["USERNAME"]+"@127.0.0.1")...)
	sftp.Env = append(os.Environ(), "SSHPASS="+info["PASSWORD"])
	if out, err := sftp.CombinedOutput(); err != nil {
		t.Fatalf("sftp: %v\n%s\nserver log:\n%s", err, out, stderr.String())
	}
	if got, err := os.ReadFile(filepath.Join(root, "hello.txt")); err != nil || string(got) != "hello" {
		t.Fatalf("uploaded file in --root: %q, %v", got, err)
	}
}

// ftpsRoundTrip uploads with explicit FTPS (TLS required, verified against the portable CA) and downloads the
// file back with implicit FTPS.
func ftpsRoundTrip(t *testing.T, dir string, info map[string]string, stderr *strings.Builder) {
	t.Helper()
	realclient.Require(t, "curl")
	user := info["USERNAME"] + ":" + info["PASSWORD"]
	curl := func(args ...string) {
		t.Helper()
		base := []string{"--silent", "--show-error", "--fail", "--cacert", info["CA_FILE"], "--user", user}
		if out, err := exec.Command("curl", append(base, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("curl %v: %v\n%s\nserver log:\n%s", args, err, out, stderr.String())
		}
	}
	curl("--ssl-reqd", "-T", filepath.Join(dir, "hello.txt"), "ftp://127.0.0.1:"+info["FTP_PORT"]+"/via-ftps.txt")
	curl("-o", filepath.Join(dir, "back.txt"), "ftps://127.0.0.1:"+info["FTPS_PORT"]+"/via-ftps.txt")
	if got, err := os.ReadFile(filepath.Join(dir, "back.txt")); err != nil || string(got) != "hello" {
		t.Fatalf("FTPS round trip: %q, %v", got, err)
	}

}
