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

package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	begin = "<!-- x:begin -->"
	end   = "<!-- x:end -->"
)

func TestReplaceBetweenMarkers(t *testing.T) {
	page := "# Performance\n\nintro\n\n" + begin + "\nold table\n" + end + "\n\nafter\n"
	got, err := ReplaceBetweenMarkers(page, begin, end, "new table\n\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Performance\n\nintro\n\n" + begin + "\nnew table\n" + end + "\n\nafter\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	again, err := ReplaceBetweenMarkers(got, begin, end, "new table\n")
	if err != nil || again != got {
		t.Errorf("a second run with the same table changed the page: %v\n%s", err, again)
	}
	for _, bad := range []string{
		"no markers",
		end + "\n" + begin + "\n",
		begin + "\n" + end + "\n" + begin + "\n" + end + "\n",
	} {
		if _, err := ReplaceBetweenMarkers(bad, begin, end, "x"); err == nil {
			t.Errorf("ReplaceBetweenMarkers(%q) accepted a page without exactly one pair of markers", bad)
		}
	}
}

// Two harnesses keep their tables in one page, each between its own markers: one's update leaves the other's alone.
func TestUpdatePageKeepsOtherSections(t *testing.T) {
	file := filepath.Join(t.TempDir(), "performance.md")
	page := begin + "\nold\n" + end + "\n\n<!-- y:begin -->\nother table\n<!-- y:end -->\n"
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdatePage(file, begin, end, "new"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := begin + "\nnew\n" + end + "\n\n<!-- y:begin -->\nother table\n<!-- y:end -->\n"; string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := UpdatePage(filepath.Join(t.TempDir(), "missing.md"), begin, end, "x"); err == nil {
		t.Error("UpdatePage of a missing file gave no error")
	}
}

func TestMachine(t *testing.T) {
	m := Machine()
	if !strings.Contains(m, "cores") || !strings.Contains(m, "go1.") {
		t.Errorf("Machine() = %q; want the cores and Go's version", m)
	}
}
