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

package demo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// process is one line of /proc/PID/stat, the fields these tests need.
type process struct {
	pid, ppid, session int
	comm               string
}

// processes lists every process of the machine.
func processes() ([]process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var list []process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // it exited meanwhile
		}
		// "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses, the last ')' ends it.
		open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(string(stat[end+1:]))
		if len(fields) < 4 {
			continue
		}
		p := process{pid: pid, comm: string(stat[open+1 : end])}
		p.ppid, _ = strconv.Atoi(fields[1])
		p.session, _ = strconv.Atoi(fields[3])
		list = append(list, p)
	}
	return list, nil
}

// inSession lists the live processes of a session: everything make demo started and what they started, since
// none of them starts a session of its own. Processes that have exited and wait to be reaped are left out.
func inSession(session int) ([]process, error) {
	all, err := processes()
	if err != nil {
		return nil, err
	}
	var list []process
	for _, p := range all {
		if p.session == session && !exited(p.pid) {
			list = append(list, p)
		}
	}
	return list, nil
}

// exited reports whether every thread of pid has exited. The main thread of a dying process is a zombie (Z) while
// its other threads still exit, and the process's files (its sockets) are closed only when the last one has.
func exited(pid int) bool {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return true // reaped meanwhile
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
		if err != nil {
			continue
		}
		if end := bytes.LastIndexByte(stat, ')'); end >= 0 {
			if fields := strings.Fields(string(stat[end+1:])); len(fields) > 0 && fields[0] != "Z" && fields[0] != "X" {
				return false
			}
		}
	}
	return true
}

func describe(list []process) string {
	var b strings.Builder
	for _, p := range list {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid))
		fmt.Fprintf(&b, "\n  pid %d (parent %d) %s: %s", p.pid, p.ppid, p.comm,
			strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " "))
	}
	return b.String()
}

// listeningSockets maps the inode of every listening TCP socket (IPv4 and IPv6) of this network namespace to its
// port.
func listeningSockets() (map[string]int, error) {
	sockets := map[string]int{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A is LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			port, err := strconv.ParseInt(hexPort, 16, 32)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %w", file, line, err)
			}
			sockets[f[9]] = int(port)
		}
	}
	return sockets, nil
}

// listeningPorts maps each TCP port that one of the processes listens on to the process's name.
func listeningPorts(list []process) (map[int]string, error) {
	sockets, err := listeningSockets()
	if err != nil {
		return nil, err
	}
	ports := map[int]string{}
	for _, p := range list {
		dir := fmt.Sprintf("/proc/%d/fd", p.pid)
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // it exited meanwhile
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
				if port, ok := sockets[strings.TrimSuffix(inode, "]")]; ok {
					ports[port] = p.comm
				}
			}
		}
	}
	return ports, nil
}
