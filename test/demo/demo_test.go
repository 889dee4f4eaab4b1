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

// Package demo tests `make demo` the way a newcomer runs and ends it: it runs the real make target in a session of
// its own, uses the env file and the printed commands with real clients, then ends it each way a person or a
// machine does (Ctrl-C to the terminal's process group, SIGTERM to make only, the terminal closed, SIGKILL of make,
// SIGKILL of the demo itself) and checks that nothing is left: no process, no listening port, no env file. It
// starts the demo five times, so it has a make target of its own: make test-demo.
package demo

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
	"github.com/pier-dev/pier/internal/testsupport/shellenv"

	"github.com/pier-dev/pier/internal/testsupport/syncbuffer"
)

const (
	// runEnv set to 1 runs these tests (make test-demo does); go test ./... skips them.
	runEnv = "PIER_TEST_DEMO"
	// startWait bounds a start: make's builds, the control plane and the endpoint becoming Ready. The first run on a
	// machine may also build kubectl from source.
	startWait = 20 * time.Minute
	// stopWait bounds how long stopping may take until nothing is left; the demo's own bounds are lower.
	stopWait = 2 * time.Minute
)

// demoRun is one `make demo` in a session of its own.
type demoRun struct {
	make    *exec.Cmd
	out     *syncbuffer.Buffer
	exited  chan struct{} // closed when make has exited
	envFile string
}

func TestMakeDemoLeavesNothingBehind(t *testing.T) {
	if os.Getenv(runEnv) != "1" {
		t.Skipf("starts make demo five times (a minute or two): run it with make test-demo (%s=1)", runEnv)
	}
	realclient.Require(t, "make", "bash", "sftp")
	state := t.TempDir()

	// In this order: each run also checks that the one before left nothing in its way, and the Ctrl-C run that the
	// killed demo's env file is replaced with a note.
	t.Run("SIGKILL of the demo", func(t *testing.T) {
		run := startDemo(t, state)
		ports := checkRunning(t, run)
		demo := onlyDemoProcess(t, run)
		if err := syscall.Kill(demo, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		checkNothingLeft(t, run, ports)
		// A killed process cannot remove its files: the next demo replaces it (the Ctrl-C run checks that).
		if _, err := os.Stat(run.envFile); err != nil {
			t.Errorf("the env file of a killed demo: %v; the Ctrl-C run expects to replace it", err)
		}
	})
	t.Run("Ctrl-C", func(t *testing.T) {
		run := startDemo(t, state)
		if !strings.Contains(run.out.String(), "removing the env file of an earlier demo") {
			t.Errorf("the env file a killed demo left was replaced without a note:\n%s", run.out)
		}
		ports := checkRunning(t, run)
		checkEnvFileAndCommands(t, run)
		// Where it prints how to add a user, the ban a login loop runs into, with the sample endpoint's settings.
		for _, want := range []string{`"$KUBECTL" wait --for=condition=Ready tu/`, "5 failed logins", "ban that address for 1m"} {
			if !strings.Contains(run.out.String(), want) {
				t.Errorf("the demo's instructions lack %q:\n%s", want, run.out)
			}
		}
		// A terminal sends Ctrl-C's SIGINT to its foreground process group: make's, which make demo runs in.
		if err := syscall.Kill(-run.make.Process.Pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		checkNothingLeft(t, run, ports)
		checkStoppedCleanly(t, run)
	})
	for _, stop := range []struct {
		name   string
		signal func(run *demoRun) error
	}{
		{"SIGTERM to make only", func(run *demoRun) error { return run.make.Process.Signal(syscall.SIGTERM) }},
		// What closing the terminal does.
		{"SIGHUP to the process group", func(run *demoRun) error { return syscall.Kill(-run.make.Process.Pid, syscall.SIGHUP) }},
		{"SIGKILL of make", func(run *demoRun) error { return run.make.Process.Kill() }},
	} {
		t.Run(stop.name, func(t *testing.T) {
			run := startDemo(t, state)
			ports := checkRunning(t, run)
			if err := stop.signal(run); err != nil {
				t.Fatal(err)
			}
			checkNothingLeft(t, run, ports)
			checkStoppedCleanly(t, run)
		})
	}
}

// startDemo runs `make demo` with its state in state, as the leader of a new session (a terminal's shell does the
// same for the commands it runs), and waits until the demo says it runs.
func startDemo(t *testing.T, state string) *demoRun {
	t.Helper()
	run := &demoRun{out: &syncbuffer.Buffer{}, exited: make(chan struct{}), envFile: filepath.Join(state, "endpoint.env")}
	run.make = exec.Command("make", "--no-print-directory", "demo", "DEMO_FLAGS=-state-dir="+state)
	run.make.Dir = controlplane.RepoRoot()
	run.make.Stdout, run.make.Stderr = run.out, run.out
	run.make.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	started := time.Now()
	if err := run.make.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = run.make.Wait()
		close(run.exited)
	}()
	session := run.make.Process.Pid
	// Whatever happens to the test, nothing it started outlives it: the processes of its session are its own.
	t.Cleanup(func() {
		list, _ := inSession(session)
		for _, p := range list {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		<-run.exited
	})

	deadline := time.Now().Add(startWait)
	for !strings.Contains(run.out.String(), "pier demo is running") || !exists(run.envFile) {
		select {
		case <-run.exited:
			t.Fatalf("make demo exited before the demo ran (%v):\n%s", run.make.ProcessState, run.out)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("make demo did not run within %s:\n%s", startWait, run.out)
		}
	}
	t.Logf("make demo ran after %s", time.Since(started).Round(100*time.Millisecond))
	return run
}

// checkRunning returns the TCP ports the demo's processes listen on, which must include the endpoint's.
func checkRunning(t *testing.T, run *demoRun) map[int]string {
	t.Helper()
	list, err := inSession(run.make.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	ports, err := listeningPorts(list)
	if err != nil {
		t.Fatal(err)
	}
	env := readEnvFile(t, run.envFile)
	for _, name := range []string{"SFTP_PORT", "FTP_PORT", "FTPS_PORT"} {
		var port int
		if _, err := fmt.Sscan(env[name], &port); err != nil || ports[port] == "" {
			t.Errorf("%s=%q is not among the ports the demo's processes listen on: %v%s", name, env[name], ports,
				describe(list))
		}
	}
	return ports
}

// checkEnvFileAndCommands uses the env file as the demo says, in a fresh shell with nothing else set: kubectl, the
// wait for Ready the demo recommends, and an SFTP login with the key and the known_hosts it wrote.
func checkEnvFileAndCommands(t *testing.T, run *demoRun) {
	t.Helper()
	for _, c := range []struct{ what, script, want string }{
		{"kubectl get te", `"$KUBECTL" get te`, "partners"},
		{"kubectl wait for Ready", `"$KUBECTL" wait --for=condition=Ready tu/alice --timeout=2m`, "condition met"},
		{"sftp with the key", `echo pwd | sftp -b - -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes ` +
			`-i "$SSH_KEY_FILE" -o UserKnownHostsFile="$KNOWN_HOSTS_FILE" -P "$SFTP_PORT" "$USERNAME@127.0.0.1"`,
			"Remote working directory: /"},
	} {
		cmd := exec.Command("bash", "-c", `. "$0" && `+c.script, run.envFile)
		// A fresh shell: no KUBECONFIG or anything else of this test's environment.
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%s after sourcing the env file: %v; output:\n%s", c.what, err, out)
		}
	}
}

// checkNothingLeft waits until make has exited and no process of its session is left, then checks that none of
// the ports the demo listened on is still listening.
func checkNothingLeft(t *testing.T, run *demoRun, ports map[int]string) {
	t.Helper()
	stopped := time.Now()
	select {
	case <-run.exited:
	case <-time.After(stopWait):
		t.Fatalf("make still runs %s after the signal:\n%s", stopWait, run.out)
	}
	var left []process
	for deadline := time.Now().Add(stopWait); ; {
		var err error
		if left, err = inSession(run.make.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Fatalf("%s after make exited, the demo left processes running:%s\n%s", stopWait, describe(left), run.out)
	}
	t.Logf("nothing was left running %s after the signal", time.Since(stopped).Round(100*time.Millisecond))
	sockets, err := listeningSockets()
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range sockets {
		if owner, ok := ports[port]; ok {
			t.Errorf("port %d, which %s listened on, is still listening", port, owner)
		}
	}
}

// checkStoppedCleanly: the demo said it stopped and removed its env file, and make reported no error.
func checkStoppedCleanly(t *testing.T, run *demoRun) {
	t.Helper()
	out := run.out.String()
	if !strings.Contains(out, "pier demo stopped.") {
		t.Errorf("the demo did not say it stopped:\n%s", out)
	}
	if errorLine := regexp.MustCompile(`(?m)^make.*\*\*\*.*$`).FindString(out); errorLine != "" {
		t.Errorf("make reported an error: %q", errorLine)
	}
	if _, err := os.Stat(run.envFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the env file is still there after the demo stopped (%v)", err)
	}
	t.Logf("make exited with %v", run.make.ProcessState)
}

// onlyDemoProcess is the pid of the demo: the one process of the session named demo.
func onlyDemoProcess(t *testing.T, run *demoRun) int {
	t.Helper()
	list, err := inSession(run.make.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	var demos []process
	for _, p := range list {
		if p.comm == "demo" {
			demos = append(demos, p)
		}
	}
	if len(demos) != 1 {
		t.Fatalf("want one process named demo, found %d:%s", len(demos), describe(list))
	}
	return demos[0].pid
}

// readEnvFile reads NAME=value pairs back through bash, the way a user's shell reads them.
func readEnvFile(t *testing.T, file string) map[string]string {
	t.Helper()
	return shellenv.Exported(t, "bash", `set -a; . "$1"`, file)
}

func exists(file string) bool {
	_, err := os.Stat(file)
	return err == nil
}
