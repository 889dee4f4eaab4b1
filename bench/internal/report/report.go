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

// Package report turns the bench's samples into results: the median of each server's samples, the best peer, and
// pier's ratio to it (above 1 when pier is better, whichever way the unit counts), written as
// bench/results/latest.json and as a markdown table.
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Pier is the name of the server under test; every other name is a peer, except Baseline.
const Pier = "pier"

// Baseline is another build of pier-server measured beside it (make bench's BENCH_BASELINE), to show what a
// change gained: it is not a peer, and the table compares pier with it in a column of its own.
const Baseline = "pier-base"

// Row is one measured quantity (a cell of the table) and every server's samples of it.
type Row struct {
	Name string
	Unit string
	// LowerIsBetter says which way the unit counts: seconds and CPU seconds per GiB are better low, MB/s high.
	LowerIsBetter bool
	// Samples are each server's measurements, one per round, by server name.
	Samples map[string][]float64
	// Note is shown under the table (for example a peer that could not be measured and why).
	Note string
}

// Add records one sample of server.
func (r *Row) Add(server string, value float64) {
	if r.Samples == nil {
		r.Samples = map[string][]float64{}
	}
	r.Samples[server] = append(r.Samples[server], value)
}

// Median is the median of values (the mean of the middle two for an even count), NaN for none.
func Median(values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	s := slices.Clone(values)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

// Result is one row of latest.json, in the shape issue 14 fixed: pier's median, the best peer's name and median,
// and the ratio (> 1 means pier is better, whatever the unit).
type Result struct {
	Name      string  `json:"name"`
	Unit      string  `json:"unit"`
	Pier      float64 `json:"pier"`
	Peer      string  `json:"peer"`
	PeerValue float64 `json:"peer_value"`
	Ratio     float64 `json:"ratio"`
}

// Result summarises the row. A row no peer measured has peer "" and ratio 0; one pier did not measure has pier 0
// and ratio 0 (JSON has no NaN).
func (r *Row) Result() Result {
	out := Result{Name: r.Name, Unit: r.Unit, Pier: finite(Median(r.Samples[Pier]))}
	best := math.NaN()
	for _, name := range r.Peers() {
		v := Median(r.Samples[name])
		if math.IsNaN(best) || r.better(v, best) {
			best, out.Peer = v, name
		}
	}
	out.PeerValue = finite(best)
	out.Ratio = r.ratio(out.Pier, out.PeerValue)
	return out
}

// Peers are the names of the servers other than pier with samples, sorted.
func (r *Row) Peers() []string {
	var names []string
	for name, values := range r.Samples {
		if name != Pier && name != Baseline && len(values) > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func (r *Row) better(a, b float64) bool {
	if r.LowerIsBetter {
		return a < b
	}
	return a > b
}

// ratio is pier against a peer, oriented so that above 1 is pier's win; 0 when either is missing or zero.
func (r *Row) ratio(pier, peer float64) float64 {
	if pier <= 0 || peer <= 0 {
		return 0
	}
	if r.LowerIsBetter {
		return round(peer/pier, 3)
	}
	return round(pier/peer, 3)
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return round(v, 3)
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// File is latest.json.
type File struct {
	Machine string   `json:"machine"`
	Results []Result `json:"results"`
}

// JSON is latest.json for the rows, indented, with a final newline.
func JSON(machine string, rows []*Row) ([]byte, error) {
	f := File{Machine: machine, Results: make([]Result, 0, len(rows))}
	for _, r := range rows {
		f.Results = append(f.Results, r.Result())
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the results: %w", err)
	}
	return append(data, '\n'), nil
}

// Markdown is the results as a table: every server's median, the best peer, the ratio, and the notes after it.
// servers gives the column order of the peers.
func Markdown(rows []*Row, peers []string) string {
	return MarkdownVs(rows, peers, "pier vs best peer")
}

// MarkdownVs is Markdown with another heading for the last column, such as "pier vs target" for rows whose only
// peer is a target.
func MarkdownVs(rows []*Row, peers []string, vsHeading string) string {
	baseline := false
	for _, r := range rows {
		baseline = baseline || len(r.Samples[Baseline]) > 0
	}
	var b strings.Builder
	b.WriteString("| cell | unit | pier |")
	if baseline {
		b.WriteString(" " + Baseline + " | pier vs " + Baseline + " |")
	}
	for _, p := range peers {
		b.WriteString(" " + p + " |")
	}
	b.WriteString(" " + vsHeading + " |\n|---|---|---:|")
	if baseline {
		b.WriteString("---:|---:|")
	}
	for range peers {
		b.WriteString("---:|")
	}
	b.WriteString("---:|\n")
	var notes []string
	for _, r := range rows {
		res := r.Result()
		fmt.Fprintf(&b, "| %s | %s | %s |", r.Name, r.Unit, cell(r.Samples[Pier]))
		if baseline {
			vs := "n/a"
			if ratio := r.ratio(Median(r.Samples[Pier]), Median(r.Samples[Baseline])); ratio > 0 {
				vs = fmt.Sprintf("%.2fx", ratio)
			}
			b.WriteString(" " + cell(r.Samples[Baseline]) + " | " + vs + " |")
		}
		for _, p := range peers {
			b.WriteString(" " + cell(r.Samples[p]) + " |")
		}
		ratio := "n/a"
		switch pier := Median(r.Samples[Pier]); {
		case res.Ratio > 0:
			ratio = fmt.Sprintf("**%.2fx** (%s)", res.Ratio, res.Peer)
		case res.Peer != "" && res.PeerValue == 0 && r.LowerIsBetter && !math.IsNaN(pier):
			// No ratio to zero, such as a target of no writes at all: say whether pier has none either.
			ratio = fmt.Sprintf("**worse** (%s: 0)", res.Peer)
			if pier == 0 {
				ratio = fmt.Sprintf("**as good** (%s: 0)", res.Peer)
			}
		}
		b.WriteString(" " + ratio + " |\n")
		if r.Note != "" {
			notes = append(notes, fmt.Sprintf("- %s: %s", r.Name, r.Note))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}

// cell is the median of samples, with few significant digits, or "-" for none.
func cell(samples []float64) string {
	m := Median(samples)
	switch {
	case math.IsNaN(m):
		return "-"
	case math.Abs(m) >= 100:
		return fmt.Sprintf("%.0f", m)
	case math.Abs(m) >= 10:
		return fmt.Sprintf("%.1f", m)
	default:
		return fmt.Sprintf("%.3g", m)
	}
}
