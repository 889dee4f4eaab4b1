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
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pier-dev/pier/bench/internal/report"
)

// The lines of docs/performance.md between which the latest table goes.
const (
	beginMarker = "<!-- bench:begin (written by make bench; do not edit) -->"
	endMarker   = "<!-- bench:end -->"
)

// write stores the results: latest.json, latest.md and the table in the docs page; partial.json and partial.md
// for a run of some cells or with a baseline.
func (b *bench) write(rows []*report.Row, took time.Duration) error {
	machine := machineDescription()
	data, err := report.JSON(machine, rows)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.o.outDir, 0o755); err != nil {
		return err
	}
	// A run of some cells, or with a baseline, is a measurement of a change, not the project's figures: it
	// leaves latest.* and the docs page alone.
	partial := b.o.cells.String() != "" || b.o.baseline != "" || b.o.peers != nil
	name := "latest"
	if partial {
		name = "partial"
	}
	if err := os.WriteFile(filepath.Join(b.o.outDir, name+".json"), data, 0o644); err != nil {
		return err
	}
	table := b.tableSection(machine, rows, took)
	if err := os.WriteFile(filepath.Join(b.o.outDir, name+".md"), []byte(table), 0o644); err != nil {
		return err
	}
	fmt.Print(table)
	if b.o.docs == "" || partial {
		return nil
	}
	page, err := os.ReadFile(b.o.docs)
	if err != nil {
		return err
	}
	updated, err := replaceBetweenMarkers(string(page), table)
	if err != nil {
		return fmt.Errorf("%s: %w", b.o.docs, err)
	}
	return os.WriteFile(b.o.docs, []byte(updated), 0o644)
}

// tableSection is the markdown of one run: how it was run, then the table.
func (b *bench) tableSection(machine string, rows []*report.Row, took time.Duration) string {
	var s strings.Builder
	fmt.Fprintf(&s, "Run of %s (%s in all): %s per transfer cell, %d rounds, medians; ratio > 1 means pier is better.\n\n",
		time.Now().UTC().Format("2006-01-02"), took.Round(time.Second), formatSize(b.o.size), b.o.rounds)
	fmt.Fprintf(&s, "Machine: %s.\n\n", machine)
	fmt.Fprintf(&s, "Clients and peers: %s.\n\n", strings.Join(versions(b.env.SFTPGo), "; "))
	s.WriteString(report.Markdown(rows, b.peerNames()))
	return s.String()
}

// replaceBetweenMarkers puts section between the markers of page, which must hold both once, in order.
func replaceBetweenMarkers(page, section string) (string, error) {
	begin := strings.Index(page, beginMarker)
	end := strings.Index(page, endMarker)
	if begin < 0 || end < begin || strings.Count(page, beginMarker) != 1 || strings.Count(page, endMarker) != 1 {
		return "", fmt.Errorf("want one %q line and then one %q line", beginMarker, endMarker)
	}
	return page[:begin+len(beginMarker)] + "\n" + strings.TrimRight(section, "\n") + "\n" + page[end:], nil
}

// machineDescription is the CPU, cores, memory, kernel and Go of this machine.
func machineDescription() string {
	cpu := firstValue("/proc/cpuinfo", "model name")
	mem := firstValue("/proc/meminfo", "MemTotal")
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	var memGiB float64
	if _, err := fmt.Sscanf(mem, "%f kB", &memGiB); err == nil {
		mem = fmt.Sprintf("%.0f GiB", memGiB/1024/1024)
	}
	return fmt.Sprintf("%s, %d cores, %s memory, Linux %s, %s, shared with other builds and tests",
		cpu, runtime.NumCPU(), mem, strings.TrimSpace(string(kernel)), runtime.Version())
}

// firstValue is the value of the first "key: value" line of file with key.
func firstValue(file, key string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return "unknown"
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// versions names the programs of the run, each as it names itself.
func versions(sftpgo string) []string {
	run := func(name string, args ...string) string {
		out, _ := exec.Command(name, args...).CombinedOutput()
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return line
	}
	// vsftpd -v prints nothing on Debian's build; the packages say which Debian versions ran.
	out := []string{
		run("ssh", "-V"),
		run("curl", "--version"),
		"Debian openssh-server " + run("dpkg-query", "-W", "-f", "${Version}", "openssh-server"),
		"Debian vsftpd " + run("dpkg-query", "-W", "-f", "${Version}", "vsftpd"),
	}
	if sftpgo != "" {
		out = append(out, run(sftpgo, "--version"))
	}
	return out
}
