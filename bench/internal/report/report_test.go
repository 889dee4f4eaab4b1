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
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{100, 1, 2}, 2}, // one outlier from a busy machine does not move it
	} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
	in := []float64{3, 1, 2}
	Median(in)
	if in[0] != 3 {
		t.Error("Median sorted its argument in place")
	}
}

func row(name, unit string, lowerIsBetter bool, samples map[string][]float64) *Row {
	r := &Row{Name: name, Unit: unit, LowerIsBetter: lowerIsBetter}
	for server, values := range samples {
		for _, v := range values {
			r.Add(server, v)
		}
	}
	return r
}

// The ratio is above 1 when pier is better, whichever way the unit counts, and it is taken against the best peer.
func TestResultPicksTheBestPeerAndOrientsTheRatio(t *testing.T) {
	for _, tc := range []struct {
		name string
		row  *Row
		want Result
	}{
		{"higher is better, pier behind", row("down", "MB/s", false, map[string][]float64{
			"pier": {400, 420, 410}, "openssh": {500, 480, 490}, "sftpgo": {300, 310, 305},
		}), Result{Name: "down", Unit: "MB/s", Pier: 410, Peer: "openssh", PeerValue: 490, Ratio: 0.837}},
		{"lower is better, pier ahead", row("cpu", "CPU s/GiB", true, map[string][]float64{
			"pier": {1, 1, 1}, "openssh": {2, 2, 2}, "sftpgo": {1.5, 1.5, 1.5},
		}), Result{Name: "cpu", Unit: "CPU s/GiB", Pier: 1, Peer: "sftpgo", PeerValue: 1.5, Ratio: 1.5}},
		{"no peer", row("new login", "ms", true, map[string][]float64{"pier": {500}}),
			Result{Name: "new login", Unit: "ms", Pier: 500}},
		{"pier missing", row("x", "ms", true, map[string][]float64{"vsftpd": {5}}),
			Result{Name: "x", Unit: "ms", Peer: "vsftpd", PeerValue: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.row.Result(); got != tc.want {
				t.Errorf("Result() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// latest.json has exactly the shape issue 14 gives, and no NaN that would make it unreadable.
func TestJSONShape(t *testing.T) {
	rows := []*Row{
		row("sftp download", "MB/s", false, map[string][]float64{"pier": {400}, "openssh": {500}}),
		row("new login", "ms", true, map[string][]float64{"pier": {500}}),
	}
	data, err := JSON("2 cores, shared", rows)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(data, &generic); err != nil {
		t.Fatalf("latest.json does not parse: %v\n%s", err, data)
	}
	if len(generic) != 2 || generic["machine"] != "2 cores, shared" {
		t.Errorf("top level = %v, want machine and results only", generic)
	}
	results := generic["results"].([]any)
	if len(results) != 2 {
		t.Fatalf("%d results, want 2", len(results))
	}
	for _, r := range results {
		keys := map[string]bool{}
		for k := range r.(map[string]any) {
			keys[k] = true
		}
		for _, k := range []string{"name", "unit", "pier", "peer", "peer_value", "ratio"} {
			if !keys[k] {
				t.Errorf("result %v lacks %q", r, k)
			}
			delete(keys, k)
		}
		if len(keys) > 0 {
			t.Errorf("result %v has extra keys %v", r, keys)
		}
	}
	if !strings.HasSuffix(string(data), "}\n") {
		t.Error("latest.json does not end with a newline")
	}
}

func TestMarkdown(t *testing.T) {
	rows := []*Row{
		row("sftp download", "MB/s", false, map[string][]float64{"pier": {400}, "openssh": {500}, "sftpgo": {250}}),
		row("ftp download", "MB/s", false, map[string][]float64{"pier": {900}, "vsftpd": {600}}),
		{Name: "new login", Unit: "ms", LowerIsBetter: true, Samples: map[string][]float64{"pier": {512}}, Note: "no peer adds users at run time"},
	}
	got := Markdown(rows, []string{"openssh", "vsftpd", "sftpgo"})
	for _, want := range []string{
		"| cell | unit | pier | openssh | vsftpd | sftpgo | pier vs best peer |",
		"| sftp download | MB/s | 400 | 500 | - | 250 | **0.80x** (openssh) |",
		"| ftp download | MB/s | 900 | - | 600 | - | **1.50x** (vsftpd) |",
		"| new login | ms | 512 | - | - | - | n/a |",
		"- new login: no peer adds users at run time",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the table lacks %q:\n%s", want, got)
		}
	}
}

// A baseline build of pier is shown beside pier and never counts as the best peer.
func TestBaselineIsNotAPeer(t *testing.T) {
	r := row("sftp download", "MB/s", false, map[string][]float64{"pier": {400}, Baseline: {500}, "openssh": {300}})
	if got := r.Result(); got.Peer != "openssh" || got.Ratio != 1.333 {
		t.Errorf("Result() = %+v, want openssh as the best peer", got)
	}
	md := Markdown([]*Row{r}, []string{"openssh"})
	for _, want := range []string{
		"| cell | unit | pier | pier-base | pier vs pier-base | openssh | pier vs best peer |",
		"| sftp download | MB/s | 400 | 500 | 0.80x | 300 | **1.33x** (openssh) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the table lacks %q:\n%s", want, md)
		}
	}
}

// The control-plane rows have one peer, the target, and the last column says so.
func TestMarkdownVsTarget(t *testing.T) {
	r := row("endpoints reconciled", "s", true, map[string][]float64{"pier": {520}, "target": {60}})
	if got := r.Result(); got.Peer != "target" || got.Ratio != 0.115 {
		t.Errorf("Result() = %+v, want the target as the peer and 60/520", got)
	}
	// A target of zero has no ratio: the table says whether pier meets it.
	none := row("quiet writes", "writes", true, map[string][]float64{"pier": {0}, "target": {0}})
	some := row("restart writes", "writes", true, map[string][]float64{"pier": {120}, "target": {0}})
	if got := some.Result(); got.Ratio != 0 || got.Peer != "target" {
		t.Errorf("Result() of a zero target = %+v; want no ratio in latest.json", got)
	}
	md := MarkdownVs([]*Row{r, none, some}, []string{"target"}, "pier vs target")
	for _, want := range []string{
		"| cell | unit | pier | target | pier vs target |",
		"| endpoints reconciled | s | 520 | 60.0 | **0.12x** (target) |",
		"| quiet writes | writes | 0 | 0 | **as good** (target: 0) |",
		"| restart writes | writes | 120 | 0 | **worse** (target: 0) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the table lacks %q:\n%s", want, md)
		}
	}
}
