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
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// The teardown plan is computed from what the machine reports (iptables-save, /proc/self/mountinfo, a process's
// command line and cgroups) by the pure functions here, so that it can be tested without a node.

// owned reports whether an iptables chain belongs to the node.
func owned(chain string) bool {
	return slices.ContainsFunc(ownedChainPrefixes, func(p string) bool { return strings.HasPrefix(chain, p) })
}

// ownedChains lists the node's chains in iptables-save output, as "table/chain".
func ownedChains(save string) []string {
	var out []string
	table := ""
	for line := range strings.Lines(save) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
		case strings.HasPrefix(line, ":"):
			if name, _, _ := strings.Cut(line[1:], " "); owned(name) {
				out = append(out, table+"/"+name)
			}
		}
	}
	return out
}

// chainCleanup is an iptables-restore --noflush script that removes every chain of the node from the tables in
// save (iptables-save output): first the rules of other chains that jump to them (INPUT -> KUBE-FIREWALL), then
// their rules, then the chains. The rules are deleted by their iptables-save text, which iptables-restore parses
// back, quotes included. It is empty when there is nothing to remove.
func chainCleanup(save string) string {
	type table struct {
		name   string
		chains []string
		jumps  []string // rules of chains that are not the node's, jumping to one that is
	}
	var tables []*table
	var cur *table
	sc := bufio.NewScanner(strings.NewReader(save))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "*"):
			cur = &table{name: line[1:]}
			tables = append(tables, cur)
		case cur == nil:
		case strings.HasPrefix(line, ":"):
			if name, _, _ := strings.Cut(line[1:], " "); owned(name) {
				cur.chains = append(cur.chains, name)
			}
		case strings.HasPrefix(line, "-A "):
			fields := strings.Fields(line)
			if owned(fields[1]) {
				continue // goes with its chain's flush
			}
			if target := ruleTarget(fields); target != "" && owned(target) {
				cur.jumps = append(cur.jumps, "-D"+strings.TrimPrefix(line, "-A"))
			}
		}
	}
	var b strings.Builder
	for _, t := range tables {
		if len(t.chains) == 0 && len(t.jumps) == 0 {
			continue
		}
		fmt.Fprintf(&b, "*%s\n", t.name)
		for _, j := range t.jumps {
			b.WriteString(j + "\n")
		}
		for _, c := range t.chains {
			fmt.Fprintf(&b, "-F %s\n", c)
		}
		for _, c := range t.chains {
			fmt.Fprintf(&b, "-X %s\n", c)
		}
		b.WriteString("COMMIT\n")
	}
	return b.String()
}

// ruleTarget is the chain a rule jumps or goes to (-j, -g), or "".
func ruleTarget(fields []string) string {
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] == "-j" || fields[i] == "-g" || fields[i] == "--jump" || fields[i] == "--goto" {
			return fields[i+1]
		}
	}
	return ""
}

// netnsDirs hold the network namespaces containerd made for the pods (cni-<uuid>); namespaces of other programs
// there have other names (the server tests' are pier-test-*).
var netnsDirs = []string{"/run/netns", "/var/run/netns"}

// ownedMounts lists the mount points in mountinfo (/proc/self/mountinfo) that belong to the node: everything under
// roots (the kubelet's volumes, containerd's root file systems and sandbox shm) and the pods' network namespaces.
// Deepest first, the order to unmount them in.
func ownedMounts(mountinfo string, roots []string) []string {
	var out []string
	for line := range strings.Lines(mountinfo) {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		point := unescapeMountPath(fields[4])
		mine := slices.ContainsFunc(roots, func(r string) bool { return point == r || strings.HasPrefix(point, r+"/") })
		for _, d := range netnsDirs {
			if filepath.Dir(point) == d && strings.HasPrefix(filepath.Base(point), "cni-") {
				mine = true
			}
		}
		if mine && !slices.Contains(out, point) {
			out = append(out, point)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int {
		return strings.Count(b, "/") - strings.Count(a, "/")
	})
	return out
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space, \011, \012, \134).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + (c - '0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownedProcess reports whether a process belongs to the node: its command line names one of the node's folders
// (every component's does, and so do containerd's shims, through the socket address), or it runs in a pod's
// cgroup (the containers' processes, which a killed shim leaves behind).
func ownedProcess(cmdline, cgroup string, l layout) bool {
	for _, arg := range strings.Split(cmdline, "\x00") {
		for _, dir := range []string{l.state, l.run} {
			if strings.Contains(arg, dir+"/") || arg == dir {
				return true
			}
		}
	}
	for line := range strings.Lines(cgroup) {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) == 3 && (parts[2] == "/kubepods" || strings.HasPrefix(parts[2], "/kubepods/") ||
			strings.HasPrefix(parts[2], "/kubepods.slice")) {
			return true
		}
	}
	return false
}
