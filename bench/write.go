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
	"os/exec"
	"path/filepath"
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
	machine := report.Machine()
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
	return report.UpdatePage(b.o.docs, beginMarker, endMarker, table)
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
