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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// run runs a program and returns its output, with the output in the error when it fails.
func run(ctx context.Context, name string, args ...string) (string, error) {
	return runInput(ctx, "", name, args...)
}

func runInput(ctx context.Context, input, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// writeIfChanged writes data to file only when the file holds something else, and reports whether it wrote:
// kube-proxy exits when its configuration file is rewritten, even with the same content.
func writeIfChanged(file string, data []byte, mode os.FileMode) (bool, error) {
	if old, err := os.ReadFile(file); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return false, err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, file)
}

// --- processes

// pidFile is where up records the process id of a component.
func (l layout) pidFile(name string) string { return filepath.Join(l.pids(), name+".pid") }

// runningPID is the process id of the component when it runs: its pid file names a live process whose command
// is that component. A pid file of a process that has gone (or whose id was reused) does not count.
func (l layout) runningPID(name string) int {
	data, err := os.ReadFile(l.pidFile(name))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	if filepath.Base(string(argv0)) != name {
		return 0
	}
	return pid
}

// start starts a component detached from this program (its own session, output to its log), and records its pid.
func (l layout) start(binary string, c command) (int, error) {
	if err := os.MkdirAll(l.logs(), 0o755); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(l.pids(), 0o755); err != nil {
		return 0, err
	}
	logFile, err := os.OpenFile(filepath.Join(l.logs(), c.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer func() { _ = logFile.Close() }()
	_, _ = fmt.Fprintf(logFile, "\n=== %s started by hack/local-cluster.sh: %s %s\n", time.Now().Format(time.RFC3339), binary,
		strings.Join(c.args, " "))
	cmd := exec.Command(binary, c.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin")
	// Its own session: it outlives up and no terminal signal of up's reaches it. down stops it by its pid.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", c.name, err)
	}
	pid := cmd.Process.Pid
	// Reap it if it exits while up still runs, so that it does not linger as a zombie that looks alive.
	go func() { _ = cmd.Wait() }()
	return pid, os.WriteFile(l.pidFile(c.name), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// stopPID sends SIGTERM and waits up to grace for the process to go, then kills it.
func stopPID(pid int, grace time.Duration) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return nil //nolint:nilerr // it is gone already
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = p.Signal(syscall.SIGKILL)
	for range 50 {
		if !alive(pid) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("process %d survived SIGKILL", pid)
}

// alive reports whether pid is a process that has not exited (a zombie has exited).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may hold spaces and parentheses, the state follows the last ')'.
	i := bytes.LastIndexByte(data, ')')
	return i >= 0 && i+2 < len(data) && data[i+2] != 'Z'
}

// ownedProcesses lists the live processes of the node (see ownedProcess), except this one.
func (l layout) ownedProcesses() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || !alive(pid) {
			continue
		}
		cmdline, err1 := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		cgroup, err2 := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if err1 != nil || err2 != nil {
			continue
		}
		if ownedProcess(string(cmdline), string(cgroup), l) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func describeProcess(pid int) string {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	s := strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return fmt.Sprintf("pid %d: %s", pid, s)
}

// --- sysctls

func sysctlPath(key string) string { return filepath.Join("/proc/sys", key) }

// snapshotSysctls records the settings before up changes any, unless a snapshot exists: then an earlier up
// changed them already, and its record of the machine's own values is the one to keep.
func (l layout) snapshotSysctls() error {
	if _, err := os.Stat(l.sysctlSnapshot()); err == nil {
		return nil
	}
	values := map[string]string{}
	for _, key := range sysctls {
		if data, err := os.ReadFile(sysctlPath(key)); err == nil {
			values[key] = strings.TrimSpace(string(data))
		}
	}
	data, err := json.MarshalIndent(values, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(l.state, 0o700); err != nil {
		return err
	}
	return os.WriteFile(l.sysctlSnapshot(), data, 0o600)
}

func setSysctl(key, value string) error {
	if err := os.WriteFile(sysctlPath(key), []byte(value), 0o644); err != nil {
		return fmt.Errorf("setting %s = %s: %w", strings.ReplaceAll(key, "/", "."), value, err)
	}
	return nil
}

// restoreSysctls writes back the values of the snapshot and removes it.
func (l layout) restoreSysctls(log *slog.Logger) error {
	data, err := os.ReadFile(l.sysctlSnapshot())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	values := map[string]string{}
	if err := json.Unmarshal(data, &values); err != nil {
		return fmt.Errorf("%s: %w", l.sysctlSnapshot(), err)
	}
	var errs []error
	for _, key := range sysctls {
		v, ok := values[key]
		if !ok {
			continue
		}
		if cur, err := os.ReadFile(sysctlPath(key)); err == nil && strings.TrimSpace(string(cur)) != v {
			log.Info("restoring a kernel setting", "key", strings.ReplaceAll(key, "/", "."), "from", strings.TrimSpace(string(cur)), "to", v)
			errs = append(errs, setSysctl(key, v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.Remove(l.sysctlSnapshot())
}

// --- iptables

// iptablesFamilies are the iptables front ends: kube-proxy and the kubelet make chains for both IP families.
var iptablesFamilies = []string{"iptables", "ip6tables"}

// applyGuard installs the guard chains (guardRules) and the jumps to them, each once.
func applyGuard(ctx context.Context) error {
	if _, err := runInput(ctx, guardRules(), "iptables-restore", "--noflush"); err != nil {
		return err
	}
	for _, j := range guardJumps() {
		if _, err := run(ctx, "iptables", "-t", j[0], "-C", j[1], "-j", j[2]); err == nil {
			continue
		}
		if _, err := run(ctx, "iptables", "-t", j[0], "-I", j[1], "1", "-j", j[2]); err != nil {
			return err
		}
	}
	return nil
}

// removeChains removes every chain of the node in both families (chainCleanup).
func removeChains(ctx context.Context) error {
	var errs []error
	for _, family := range iptablesFamilies {
		save, err := run(ctx, family+"-save")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if script := chainCleanup(save); script != "" {
			if _, err := runInput(ctx, script, family+"-restore", "--noflush"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// remainingChains lists the node's chains still in either family, "iptables:nat/KUBE-SERVICES".
func remainingChains(ctx context.Context) ([]string, error) {
	var out []string
	for _, family := range iptablesFamilies {
		if _, err := exec.LookPath(family + "-save"); err != nil {
			continue
		}
		save, err := run(ctx, family+"-save")
		if err != nil {
			return nil, err
		}
		for _, c := range ownedChains(save) {
			out = append(out, family+":"+c)
		}
	}
	return out, nil
}

// --- mounts, links, cgroups

func (l layout) mounts() ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return ownedMounts(string(data), []string{l.state, l.run}), nil
}

// unmountAll detaches every mount of the node, deepest first, and removes the pods' network namespace files.
func (l layout) unmountAll() error {
	points, err := l.mounts()
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) &&
			!errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
		for _, d := range netnsDirs {
			if filepath.Dir(p) == d {
				_ = os.Remove(p)
			}
		}
	}
	return errors.Join(errs...)
}

func linkExists(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name))
	return err == nil
}

// cgroupDirs lists the kubelet's cgroup folders (kubepods and below) in every hierarchy, deepest first.
func cgroupDirs() []string {
	var out []string
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	if _, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil {
		roots = append(roots, "/sys/fs/cgroup/kubepods")
	}
	for _, root := range roots {
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				out = append(out, path)
			}
			return nil
		})
	}
	slices.SortStableFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return out
}

// removeCgroups removes the kubelet's cgroups; each must be empty of processes by now.
func removeCgroups() error {
	var errs []error
	for _, dir := range cgroupDirs() {
		if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}
