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
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// stopWithParent has the kernel send the demo SIGTERM when parent, the process that started it, exits: make
// killed with SIGKILL, or a shell that went away, then stops the demo like Ctrl-C does instead of leaving it
// running with its ports taken. A parent that is gone already (or init) is not waited for.
func stopWithParent(parent int) error {
	if parent <= 1 {
		return errors.New("it was started by init, or its parent had exited already")
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0, 0, 0); err != nil {
		return err
	}
	// The parent may have exited before the signal was asked for; then no signal comes, so send it now.
	if os.Getppid() != parent {
		return syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
	return nil
}

// inOwnGroup starts cmd as the leader of its own process group and, when its context ends, sends SIGTERM to the
// whole group (a script and what it runs), and SIGKILL if it is still there 30 s later.
func inOwnGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
}
