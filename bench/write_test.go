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
	"os"
	"strings"
	"testing"
)

func TestReplaceBetweenMarkers(t *testing.T) {
	page := "# Performance\n\nintro\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\nafter\n"
	got, err := replaceBetweenMarkers(page, "new table\n\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Performance\n\nintro\n\n" + beginMarker + "\nnew table\n" + endMarker + "\n\nafter\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	again, err := replaceBetweenMarkers(got, "new table\n")
	if err != nil || again != got {
		t.Errorf("a second run with the same table changed the page: %v\n%s", err, again)
	}
	for _, bad := range []string{
		"no markers",
		endMarker + "\n" + beginMarker + "\n",
		beginMarker + "\n" + endMarker + "\n" + beginMarker + "\n" + endMarker + "\n",
	} {
		if _, err := replaceBetweenMarkers(bad, "x"); err == nil {
			t.Errorf("replaceBetweenMarkers(%q) accepted a page without exactly one pair of markers", bad)
		}
	}
}

// The page the bench writes to has its markers, so that make bench can replace its table.
func TestPerformancePageHasMarkers(t *testing.T) {
	page, err := os.ReadFile("../docs/performance.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replaceBetweenMarkers(string(page), "x"); err != nil {
		t.Errorf("docs/performance.md: %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	t.Setenv("BENCH_SIZE", "256M")
	t.Setenv("BENCH_ROUNDS", "3")
	o, err := parseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.size != 256<<20 || o.rounds != 3 || o.sessions != 200 || !o.cells.MatchString("anything") {
		t.Errorf("options from the environment = %+v", o)
	}
	if o, err := parseOptions([]string{"-rounds", "1", "-cells", "^FTP"}); err != nil || o.rounds != 1 || o.cells.MatchString("SFTP download") {
		t.Errorf("a flag does not override its variable: %+v, %v", o, err)
	}
	if o, err := parseOptions([]string{"-peers", "openssh, sftpgo"}); err != nil || len(o.peers) != 2 || !o.peers["sftpgo"] || o.peers["vsftpd"] {
		t.Errorf("-peers openssh,sftpgo = %v, %v", o.peers, err)
	}
	if o, err := parseOptions([]string{"-peers", "none"}); err != nil || o.peers == nil || len(o.peers) != 0 {
		t.Errorf("-peers none = %v, %v; want an empty set", o.peers, err)
	}
	for _, args := range [][]string{{"-rounds", "0"}, {"-rounds", "x"}, {"-size", "1T"}, {"-cells", "("}, {"-sessions", "-1"}, {"-peers", "proftpd"}} {
		if _, err := parseOptions(args); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("parseOptions(%q) = %v; want an error naming %s", args, err, args[0])
		}
	}
}
