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

package localcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/testsupport/poll"
	"github.com/pier-dev/pier/internal/testsupport/syncbuffer"
)

// parentEnv makes the test binary act as a parent that starts a wrapped `sleep` and waits (see TestMain).
const parentEnv = "PIER_LOCALCLUSTER_TEST_PARENT"

func TestMain(m *testing.M) {
	Init()
	if dir := os.Getenv(parentEnv); dir != "" {
		os.Exit(actAsParent(dir))
	}
	os.Exit(m.Run())
}

// actAsParent writes a wrapper of sleep into dir, starts it as envtest starts etcd (a plain exec, no attributes),
// prints its pid and waits to be killed.
func actAsParent(dir string) int {
	sleep, err := exec.LookPath("sleep")
	if err == nil {
		err = writeWrappers(dir, filepath.Dir(sleep), filepath.Base(sleep))
	}
	var cmd *exec.Cmd
	if err == nil {
		cmd = exec.Command(filepath.Join(dir, filepath.Base(sleep)), "600")
		err = cmd.Start()
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println(cmd.Process.Pid)
	_ = cmd.Wait()
	return 0
}

// TestWrappedProcessDiesWithItsParent is what keeps a killed make demo from leaving etcd and kube-apiserver
// running: a process started through a wrapper is in its own process group (a terminal's Ctrl-C does not reach it)
// and is killed by the kernel when the process that started it is killed.
func TestWrappedProcessDiesWithItsParent(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parent := exec.Command(self)
	parent.Env = append(os.Environ(), parentEnv+"="+t.TempDir())
	stdout, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	parent.Stderr = os.Stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = parent.Process.Kill()
		t.Fatalf("reading the child's pid: %v (got %q)", err, line)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		_ = parent.Process.Kill()
		t.Fatalf("the parent printed %q", line)
	}
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })

	// The wrapper execs the real binary in the same process: by now or shortly, it is sleep, in its own group. Its
	// executable tells, not its name: the wrapper script is named sleep too.
	sleep, err := exec.LookPath("sleep")
	if err == nil {
		sleep, err = filepath.EvalSymlinks(sleep)
	}
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the wrapper to exec sleep", func() error {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", child))
		if err != nil || exe != sleep {
			return fmt.Errorf("process %d runs %q (%w), not %s", child, exe, err, sleep)
		}
		return nil
	})
	if pgid, err := syscall.Getpgid(child); err != nil || pgid != child {
		t.Errorf("the wrapped process's group is %d (%v), want its own (%d)", pgid, err, child)
	}

	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	waitFor(t, "the wrapped process to die with its parent", func() error {
		// Killed, it is a zombie until init reaps it: a zombie holds no ports and runs nothing.
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(fields) > 0 && fields[0] == "Z" {
			return nil
		}
		return fmt.Errorf("process %d is still running: %s", child, stat)
	})
}

// TestWrapperRefusesAnOrphan: a wrapper whose starter has already exited when it runs would never get the
// parent-death signal, so it does not start the binary at all.
func TestWrapperRefusesAnOrphan(t *testing.T) {
	dir := t.TempDir()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeWrappers(dir, filepath.Dir(sleep), filepath.Base(sleep)); err != nil {
		t.Fatal(err)
	}
	// Run by sh, not by this process: its parent is not the one the wrapper was written for.
	out, err := exec.Command("sh", "-c", filepath.Join(dir, filepath.Base(sleep))+" 600; exit $?").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 127 {
		t.Fatalf("the wrapper run by another parent: %v, want exit status 127; output: %s", err, out)
	}
	if !strings.Contains(string(out), "has exited") {
		t.Errorf("the wrapper's message %q does not say why it did not start", out)
	}
}

func TestWriteWrappersNamesAMissingBinary(t *testing.T) {
	err := writeWrappers(t.TempDir(), t.TempDir(), "etcd")
	if err == nil || !strings.Contains(err.Error(), "setup-envtest.sh") {
		t.Fatalf("writeWrappers of a missing binary: %v, want an error that says how to get it", err)
	}
}

// The control plane's three wrappers are written from KUBEBUILDER_ASSETS, each naming its binary there.
func TestWriteControlPlaneWrappers(t *testing.T) {
	assets, dir := t.TempDir(), t.TempDir()
	t.Setenv("KUBEBUILDER_ASSETS", assets)
	names := []string{"etcd", "kube-apiserver", "kube-controller-manager"}
	for _, name := range names[:2] {
		if err := os.WriteFile(filepath.Join(assets, name), []byte("#!/bin/sh\n"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteControlPlaneWrappers(dir); err == nil || !strings.Contains(err.Error(), "kube-controller-manager") {
		t.Fatalf("without kube-controller-manager: %v, want an error naming it", err)
	}
	if err := os.WriteFile(filepath.Join(assets, names[2]), []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteControlPlaneWrappers(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		script, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !strings.Contains(string(script), shellQuote(filepath.Join(assets, name))) {
			t.Errorf("the wrapper of %s: %v\n%s", name, err, script)
		}
	}
}

// TestHostLockWaitsForTheHolder: a second local cluster waits, says for whom, and starts when the first stops.
func TestHostLockWaitsForTheHolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lock")
	logs := &syncbuffer.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	first, err := lockHost(context.Background(), log, file, "/first/state")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := lockHost(ctx, slog.New(slog.DiscardHandler), file, "/second/state"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second lockHost while the first holds it: %v, want it to wait until its context ends", err)
	}

	got := make(chan error, 1)
	go func() {
		second, err := lockHost(context.Background(), log, file, "/second/state")
		if err == nil {
			err = second.Close()
		}
		got <- err
	}()
	waitFor(t, "the waiting message", func() error {
		if !strings.Contains(logs.String(), "waiting for it to stop") || !strings.Contains(logs.String(), "/first/state") {
			return fmt.Errorf("log so far: %s", logs.String())
		}
		return nil
	})
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("lockHost after the holder closed: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lockHost still waits after the holder released the lock")
	}
}

// waitFor retries check until it passes, for 30 s at most.
func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	poll.Until(t, "waiting for "+what, 30*time.Second, check)
}
