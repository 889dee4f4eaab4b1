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
	"path/filepath"
	"strings"
	"time"

	"github.com/pier-dev/pier/bench/internal/report"
	"github.com/pier-dev/pier/internal/credentials"
)

// The lines of docs/performance.md between which the latest control-plane table goes.
const (
	beginMarker = "<!-- bench-controlplane:begin (written by make bench-controlplane; do not edit) -->"
	endMarker   = "<!-- bench-controlplane:end -->"
)

// write stores the results: controlplane.json, controlplane.md and the table in the docs page for the project's
// figures (see options.official); controlplane-partial.json and .md for any other run.
func (b *bench) write(took time.Duration) error {
	machine := report.Machine()
	data, err := report.JSON(machine, b.table.rows)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.o.outDir, 0o755); err != nil {
		return err
	}
	name := "controlplane"
	if !b.o.official() {
		name = "controlplane-partial"
	}
	if err := os.WriteFile(filepath.Join(b.o.outDir, name+".json"), data, 0o644); err != nil {
		return err
	}
	section := b.section(machine, took)
	if err := os.WriteFile(filepath.Join(b.o.outDir, name+".md"), []byte(section), 0o644); err != nil {
		return err
	}
	fmt.Print(section)
	if b.o.docs == "" || !b.o.official() {
		return nil
	}
	return report.UpdatePage(b.o.docs, beginMarker, endMarker, section)
}

// section is the markdown of one run: how it ran, on what, and the table.
func (b *bench) section(machine string, took time.Duration) string {
	o := b.o
	var s strings.Builder
	fmt.Fprintf(&s, "Run of %s (%s in all): %s endpoints (SFTP only) with %d users each, %s users on one endpoint; "+
		"each scenario on a fresh control plane, timeout %s, quiet window %s; one run, not a median.\n\n",
		time.Now().UTC().Format("2006-01-02"), took.Round(time.Second), count(o.endpoints), o.usersPerEndpoint,
		count(o.oneEndpointUsers), o.timeout, o.quiet)
	for _, bd := range b.builds {
		fmt.Fprintf(&s, "Manager `%s`: %s.\n\n", bd.label, bd.desc)
	}
	fmt.Fprintf(&s, "Machine: %s. One bcrypt hash at cost %d takes %.0f ms of CPU here.", machine,
		credentials.HashCost, millis(b.hashCPU))
	if lo, hi, ok := b.loadRange(); ok {
		// The run's own processes (manager, control plane, bench) account for 2 to 3 of it.
		fmt.Fprintf(&s, " Load average during the run (1 minute, sampled every 30 s): %.1f to %.1f.", lo, hi)
	}
	s.WriteString("\n\n")
	s.WriteString("Targets are issue 14's")
	if o.endpoints*o.usersPerEndpoint != loadTargetUsers || o.oneEndpointUsers != oneEndpointTUsers {
		s.WriteString(", their times scaled linearly to these sizes")
	}
	s.WriteString("; ratio > 1 means better than the target.\n")
	for _, g := range groupRows(b.table.rows) {
		s.WriteString("\n#### " + g.name + "\n\n")
		s.WriteString(report.MarkdownVs(g.rows, []string{target}, "pier vs target"))
	}
	return s.String()
}

// rowGroup is the rows of one scenario (or one restart), named without the scenario.
type rowGroup struct {
	name string
	rows []*report.Row
}

// groupRows splits rows by what their name says before the first ": ", in the order the groups first appear,
// for a table per scenario; the JSON keeps the full names.
func groupRows(rows []*report.Row) []rowGroup {
	var groups []rowGroup
	index := map[string]int{}
	for _, r := range rows {
		name, rest, ok := strings.Cut(r.Name, ": ")
		if !ok {
			name, rest = "", r.Name
		}
		i, seen := index[name]
		if !seen {
			i = len(groups)
			index[name] = i
			groups = append(groups, rowGroup{name: name})
		}
		short := *r
		short.Name = rest
		groups[i].rows = append(groups[i].rows, &short)
	}
	return groups
}
