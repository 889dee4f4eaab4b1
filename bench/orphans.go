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
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pier-dev/pier/bench/internal/peers"
	"github.com/pier-dev/pier/bench/internal/proc"
)

// Why the bench adopts orphans: when an OpenSSH session ends, sshd's privileged monitor exits before it has reaped
// the session's unprivileged process, which does the encryption. That process is orphaned, and its CPU time
// would go to whoever adopts it (init), not into the sshd tree's cutime: measured from the listener's tree alone,
// OpenSSH used 0.04 CPU seconds per GiB, a tenth of what it does. As a child subreaper (prctl
// PR_SET_CHILD_SUBREAPER), the bench adopts such orphans itself; they stay zombies, with their final times in
// /proc, until the bench has read them and reaps them.

// becomeSubreaper makes this process the adopter of its descendants' orphans.
func becomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return nil
}

// adopted are this process's children that it did not start: orphans of the servers' trees.
func adopted() ([]proc.Stat, error) {
	children, err := proc.Default.Children(os.Getpid())
	if err != nil {
		return nil, err
	}
	var out []proc.Stat
	for _, c := range children {
		if !peers.Started(c.PID) {
			out = append(out, c)
		}
	}
	return out, nil
}

// reap collects the adopted zombies among stats; living ones are left alone.
func reap(stats []proc.Stat) {
	for _, s := range stats {
		if s.State == 'Z' {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(s.PID, &ws, unix.WNOHANG, nil) // only this pid, never a child os/exec waits for
		}
	}
}

// settle waits up to d for the adopted orphans to exit, and reaps them: their time belongs to no measurement.
func settle(d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		orphans, err := adopted()
		if err != nil || len(orphans) == 0 {
			return
		}
		reap(orphans)
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
