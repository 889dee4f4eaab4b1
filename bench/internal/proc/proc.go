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

// Package proc reads what a server process tree has used from Linux's /proc: CPU time (from /proc/PID/stat) and
// memory (RSS and PSS from /proc/PID/smaps_rollup), summed over a process and all its descendants. A whole tree,
// because OpenSSH's sshd and vsftpd fork processes per session, while pier-server and SFTPGo are one process.
package proc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ClockTicks is USER_HZ, the unit of the times in /proc/PID/stat. Linux fixes it at 100 for user space on every
// architecture (the kernel's HZ may differ, /proc converts), so no sysconf (and no cgo) is needed.
const ClockTicks = 100

// FS is a /proc file system: Root is "/proc" on a real machine, a folder of fake files in tests.
type FS struct{ Root string }

// Default is the machine's /proc.
var Default = FS{Root: "/proc"}

// Stat is what one /proc/PID/stat line says that the bench needs.
type Stat struct {
	PID, PPID int
	State     byte
	// CPU is utime + stime + cutime + cstime: the process's own CPU time and that of its children it has waited
	// for. A tree's CPU is then the sum over its live processes: a child that exits moves its time into its
	// parent's cutime/cstime when it is reaped, and is counted once either way.
	CPU time.Duration
}

// ParseStat parses one /proc/PID/stat line. The command name (field 2) is in parentheses and may itself hold
// spaces and parentheses, so the fields after it are found from the last ')'.
func ParseStat(line string) (Stat, error) {
	open := strings.IndexByte(line, '(')
	closing := strings.LastIndexByte(line, ')')
	if open < 0 || closing < open {
		return Stat{}, fmt.Errorf("not a /proc/PID/stat line: %q", line)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return Stat{}, fmt.Errorf("the pid of %q: %w", line, err)
	}
	// Fields from 3 (state) on; utime..cstime are fields 14-17, so indexes 11-14 here.
	rest := strings.Fields(line[closing+1:])
	if len(rest) < 15 {
		return Stat{}, fmt.Errorf("/proc/%d/stat has %d fields after the name, want at least 15", pid, len(rest))
	}
	s := Stat{PID: pid, State: rest[0][0]}
	if s.PPID, err = strconv.Atoi(rest[1]); err != nil {
		return Stat{}, fmt.Errorf("/proc/%d/stat ppid: %w", pid, err)
	}
	var ticks int64
	for _, field := range rest[11:15] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return Stat{}, fmt.Errorf("/proc/%d/stat times: %w", pid, err)
		}
		ticks += n
	}
	s.CPU = time.Duration(ticks) * time.Second / ClockTicks
	return s, nil
}

// stats reads the stat of every process. Processes that exit while it reads are skipped.
func (p FS) stats() (map[int]Stat, error) {
	entries, err := os.ReadDir(p.Root)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p.Root, err)
	}
	out := make(map[int]Stat, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // not a process: self, meminfo, ...
		}
		data, err := os.ReadFile(filepath.Join(p.Root, e.Name(), "stat"))
		if vanished(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s, err := ParseStat(string(bytes.TrimSpace(data)))
		if err != nil {
			return nil, err
		}
		out[pid] = s
	}
	return out, nil
}

// vanished says whether a read of a process's file failed because the process is gone: it exited between listing
// /proc and reading the file (ENOENT, or ESRCH for a file already open), or it is not ours to read.
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) || errors.Is(err, os.ErrPermission)
}

// Tree returns root and every live descendant of it, root first.
func (p FS) Tree(root int) ([]Stat, error) {
	all, err := p.stats()
	if err != nil {
		return nil, err
	}
	r, ok := all[root]
	if !ok {
		return nil, fmt.Errorf("process %d is not running", root)
	}
	children := map[int][]int{}
	for pid, s := range all {
		children[s.PPID] = append(children[s.PPID], pid)
	}
	tree := []Stat{r}
	for i := 0; i < len(tree); i++ {
		for _, c := range children[tree[i].PID] {
			tree = append(tree, all[c])
		}
	}
	return tree, nil
}

// Children are the processes whose parent is pid.
func (p FS) Children(pid int) ([]Stat, error) {
	all, err := p.stats()
	if err != nil {
		return nil, err
	}
	var out []Stat
	for _, s := range all {
		if s.PPID == pid {
			out = append(out, s)
		}
	}
	return out, nil
}

// TreeCPU is the CPU time used so far by root and its descendants, those that exited and were reaped inside the
// tree included, and how many processes the tree has now.
func (p FS) TreeCPU(root int) (cpu time.Duration, processes int, err error) {
	tree, err := p.Tree(root)
	if err != nil {
		return 0, 0, err
	}
	for _, s := range tree {
		cpu += s.CPU
	}
	return cpu, len(tree), nil
}

// Memory is resident memory in bytes.
type Memory struct {
	RSS int64 // resident set: pages shared between the tree's processes count once per process
	PSS int64 // proportional set: a page shared by n processes counts 1/n to each, so the sum is what the tree costs
}

// ParseSmapsRollup reads the Rss and Pss lines (in kB) of a /proc/PID/smaps_rollup file.
func ParseSmapsRollup(data []byte) (Memory, error) {
	var m Memory
	var seenRSS, seenPSS bool
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		var dst *int64
		switch fields[0] {
		case "Rss:":
			dst, seenRSS = &m.RSS, true
		case "Pss:":
			dst, seenPSS = &m.PSS, true
		default:
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("smaps_rollup %s: %w", fields[0], err)
		}
		*dst = kb * 1024
	}
	if !seenRSS || !seenPSS {
		return Memory{}, errors.New("smaps_rollup has no Rss or no Pss line")
	}
	return m, nil
}

// TreeMemory sums RSS and PSS over root and its live descendants. Zombies and processes that exit while it reads
// have no memory left and are skipped.
func (p FS) TreeMemory(root int) (Memory, error) {
	tree, err := p.Tree(root)
	if err != nil {
		return Memory{}, err
	}
	var total Memory
	for _, s := range tree {
		data, err := os.ReadFile(filepath.Join(p.Root, strconv.Itoa(s.PID), "smaps_rollup"))
		if vanished(err) {
			continue
		}
		if err != nil {
			return Memory{}, err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			continue // a zombie's smaps_rollup is empty
		}
		m, err := ParseSmapsRollup(data)
		if err != nil {
			return Memory{}, fmt.Errorf("process %d: %w", s.PID, err)
		}
		total.RSS += m.RSS
		total.PSS += m.PSS
	}
	return total, nil
}

// ParsePeakRSS reads the VmHWM line (in kB) of a /proc/PID/status file: the most resident memory the process has
// held since it started, which a sample of RSS taken now and then would miss between two samples.
func ParsePeakRSS(data []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "VmHWM:" {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status VmHWM: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, errors.New("status has no VmHWM line (a zombie, or a kernel thread)")
}

// PeakRSS is the peak resident memory in bytes of process pid alone (VmHWM), not of its descendants.
func (p FS) PeakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(filepath.Join(p.Root, strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("reading the status of process %d: %w", pid, err)
	}
	rss, err := ParsePeakRSS(data)
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	return rss, nil
}
