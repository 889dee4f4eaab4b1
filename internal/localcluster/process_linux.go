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
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// childAttr is how the cluster starts the processes it owns. Each gets its own process group, so that a terminal's
// Ctrl-C reaches only the program that owns the cluster, which then stops them in order; and each is killed by the
// kernel when that program dies without stopping them (SIGKILL, a crash), so none is left holding ports.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// execChild is the wrapper's work (see Init): it makes this process die with parentPID, then becomes binary.
func execChild(parentPID, binary string, args []string) error {
	// The parent-death signal belongs to the thread that sets it, and exec keeps only the thread that calls it.
	runtime.LockOSThread()
	// envtest starts its processes in their own group already; kube-controller-manager's starter does not.
	if err := syscall.Setpgid(0, 0); err != nil {
		return fmt.Errorf("own process group: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("setting the parent-death signal: %w", err)
	}
	// The parent may have died before the signal was set, and then no signal comes.
	if strconv.Itoa(os.Getppid()) != parentPID {
		return fmt.Errorf("not starting %s: the process that started it (pid %s) has exited", binary, parentPID)
	}
	err := syscall.Exec(binary, append([]string{binary}, args...), os.Environ())
	return fmt.Errorf("exec %s: %w", binary, err)
}

// lockFile takes an exclusive lock on f, or reports errLocked when another process holds it.
func lockFile(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errLocked
	}
	return err
}
