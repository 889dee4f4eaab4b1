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
	"math"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/pier-dev/pier/bench/controlplane/internal/audit"
	"github.com/pier-dev/pier/bench/controlplane/internal/metrics"
	"github.com/pier-dev/pier/bench/internal/report"
)

// target is the peer every control-plane row is compared with: issue 14's goal for it.
const target = "target"

// Issue 14's targets at its sizes (1,000 endpoints, 10,000 users; 1,000 users on one endpoint). Time targets
// scale linearly with the number of users when the bench runs other sizes.
const (
	loadTarget        = 60 * time.Second // pre-hashed or generated passwords, 10,000 users
	loadTargetUsers   = 10000
	hashFloorFactor   = 1.2 // plaintext: within 1.2x of one bcrypt hash per user
	rssTargetMiB      = 256
	newUserTarget     = 2 * time.Second // a new user's first login after apply; reaching the config comes first
	oneEndpointTarget = 10 * time.Second
	oneEndpointTUsers = 1000
)

// table collects the rows in the order they are first added.
type table struct {
	rows  []*report.Row
	index map[string]*report.Row
}

func newTable() *table { return &table{index: map[string]*report.Row{}} }

// row returns the row named name, creating it lower-is-better with unit and target (NaN for none).
func (t *table) row(name, unit string, goal float64) *report.Row {
	if r, ok := t.index[name]; ok {
		return r
	}
	r := &report.Row{Name: name, Unit: unit, LowerIsBetter: true}
	if !math.IsNaN(goal) {
		r.Add(target, goal)
	}
	t.rows, t.index[name] = append(t.rows, r), r
	return r
}

// add records server's value in the named row; NaN records nothing (the row says why in its note).
func (t *table) add(name, unit string, goal float64, server string, value float64) *report.Row {
	r := t.row(name, unit, goal)
	if !math.IsNaN(value) {
		r.Add(server, value)
	}
	return r
}

// note adds server's note to the row.
func note(r *report.Row, server, text string) {
	if text == "" {
		return
	}
	if r.Note != "" {
		r.Note += "; "
	}
	r.Note += server + ": " + text
}

var none = math.NaN()

func seconds(d time.Duration) float64 { return d.Seconds() }
func millis(d time.Duration) float64  { return float64(d) / float64(time.Millisecond) }
func mib(bytes int64) float64         { return float64(bytes) / (1 << 20) }

// count formats n with thousands separators, as the issue writes its sizes.
func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// scaled is a time target for users, from the target for base users.
func scaled(goal time.Duration, users, base int) float64 {
	return goal.Seconds() * float64(users) / float64(base)
}

// addLoad adds one load scenario's rows for server.
func (t *table) addLoad(b *bench, server string, res *loadResult) {
	o := b.o
	users := o.endpoints * o.usersPerEndpoint
	prefix := fmt.Sprintf("%s endpoints / %s users, %s passwords", count(o.endpoints), count(users), res.kind)
	hashCPU := b.hashCPU.Seconds()
	wallGoal := scaled(loadTarget, users, loadTargetUsers)
	perUserGoal := none
	if res.kind == plaintext {
		// One hash per user, spread over the machine's cores.
		wallGoal = hashFloorFactor * float64(users) * hashCPU / float64(runtime.NumCPU())
		perUserGoal = hashFloorFactor * hashCPU * 1000
	}
	unfinished := ""
	if !res.finished {
		unfinished = fmt.Sprintf("did not finish in %s: %s", o.timeout, res.counts)
	}
	wall, perUser := seconds(res.load.to.Sub(res.load.from)), millis(res.cpu)/float64(users)
	if !res.finished {
		wall, perUser = none, none
	}
	note(t.add(prefix+": create to all reconciled", "s", wallGoal, server, wall), server, unfinished)
	t.add(prefix+": of which the bench's creates", "s", none, server, seconds(res.applied))
	r := t.add(prefix+": manager CPU", "CPU s", none, server, seconds(res.cpu))
	if !res.finished {
		note(r, server, "until the timeout")
	}
	note(t.add(prefix+": manager CPU per user", "CPU ms", perUserGoal, server, perUser), server, unfinished)
	t.add(prefix+": etcd, kube-apiserver and kube-controller-manager CPU", "CPU s", none, server, seconds(res.others))
	t.add(prefix+": manager peak RSS", "MiB", rssTargetMiB, server, mib(res.peakRSS))
	t.addReconciles(prefix, server, res.reconciles)
	hashes := 0.0 // pre-hashed: none; else one per user applied during the load, the probe user included
	if res.kind != prehashed {
		hashes = float64(users + 1)
	}
	t.addPasswordOps(prefix, server, res.reconciles, hashes)
	t.add(prefix+": API writes by the manager during the load", "writes", none, server, float64(len(res.writesLoad)))
	quiet := fmt.Sprintf("%s: API writes by the manager in the %s after", prefix, o.quiet)
	quietNote := writesNote(res.writesQuiet)
	if !res.finished {
		quietNote = joinNotes("the load was still being reconciled", quietNote)
	}
	note(t.add(quiet, "writes", 0, server, float64(len(res.writesQuiet))), server, quietNote)
	t.add(fmt.Sprintf("%s: manager CPU in the %s after", prefix, o.quiet), "CPU s", none, server, seconds(res.quietCPU))
	t.addProbe(prefix+": new user to config, applied during the load", server, res.probeLoad)
	t.addProbe(prefix+": new user to config, applied after the quiet window", server, res.probeIdle)
	if res.kind != prehashed {
		t.addRestart(prefix+": manager restart", server, res.restart, none)
	}
	if strings.Contains(res.checked, "PROBLEMS") || res.counts.LenientConfigs > 0 {
		r := t.index[prefix+": create to all reconciled"]
		note(r, server, res.checked)
		if res.counts.LenientConfigs > 0 {
			note(r, server, "configs read leniently: "+res.counts.LenientReason)
		}
	}
}

// addProbe adds a new user's latency to the config.
func (t *table) addProbe(name, server string, p probe) {
	value := none
	if p.served {
		value = seconds(p.latency)
	}
	note(t.add(name, "s", newUserTarget.Seconds(), server, value), server, p.note)
}

// addReconciles adds each controller's reconcile latency (p50, p99) and count, from a metrics difference.
func (t *table) addReconciles(prefix, server string, s metrics.Snapshot) {
	names := make([]string, 0, len(s.Controllers))
	for name := range s.Controllers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := s.Controllers[name]
		t.add(fmt.Sprintf("%s: reconcile p50, %s", prefix, name), "ms", none, server, 1000*c.Time.Quantile(0.5))
		t.add(fmt.Sprintf("%s: reconcile p99, %s", prefix, name), "ms", none, server, 1000*c.Time.Quantile(0.99))
		t.add(fmt.Sprintf("%s: queue wait p50, %s", prefix, name), "ms", none, server, 1000*c.Wait.Quantile(0.5))
		t.add(fmt.Sprintf("%s: queue wait p99, %s", prefix, name), "ms", none, server, 1000*c.Wait.Quantile(0.99))
		r := t.add(fmt.Sprintf("%s: reconciles, %s", prefix, name), "reconciles", none, server, c.Total())
		if failed := c.Reconciles["error"]; failed > 0 {
			note(r, server, fmt.Sprintf("%.0f ended in an error", failed))
		}
	}
}

// addPasswordOps adds the manager's bcrypt operations on passwords, hashes against hashGoal and comparisons
// against none, when the manager counts them (pier_manager_password_hashes_total): a password should cost one
// hash per change of its source, and no comparison in steady state or after a restart.
func (t *table) addPasswordOps(prefix, server string, s metrics.Snapshot, hashGoal float64) {
	if s.PasswordOps == nil {
		return
	}
	t.add(prefix+": bcrypt hashes by the manager", "hashes", hashGoal, server, s.PasswordOps["hash"])
	t.add(prefix+": bcrypt comparisons by the manager", "comparisons", 0, server, s.PasswordOps["compare"])
}

// writesNote says what the writes of a window that should have none were, the most frequent first.
func writesNote(writes []audit.Write) string {
	if len(writes) == 0 {
		return ""
	}
	kinds := audit.Summarize(writes, audit.ByKind)
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d x %s", k.N, k.What))
	}
	out := strings.Join(parts, ", ")
	// The objects written more than once: a loop is more telling than a backlog of objects written once each.
	var top []string
	for _, o := range audit.Summarize(writes, audit.Write.What) {
		if o.N < 2 || len(top) == 3 {
			break
		}
		top = append(top, fmt.Sprintf("%s (%d)", o.What, o.N))
	}
	if len(top) > 0 {
		out += "; most written: " + strings.Join(top, ", ")
	}
	return out
}

// addOneEndpoint adds the one-endpoint scenario's rows for server.
func (t *table) addOneEndpoint(b *bench, server string, res *oneEndpointResult) {
	prefix := fmt.Sprintf("%s users at once on one endpoint, pre-hashed", count(res.users))
	wall := none
	unfinished := ""
	if res.finished {
		wall = seconds(res.load.to.Sub(res.load.from))
	} else {
		unfinished = fmt.Sprintf("did not finish in %s: %s", b.o.timeout, res.counts)
	}
	goal := scaled(oneEndpointTarget, res.users, oneEndpointTUsers)
	note(t.add(prefix+": create to all served and Ready", "s", goal, server, wall), server, unfinished)
	t.add(prefix+": of which the bench's creates", "s", none, server, seconds(res.applied))
	t.add(prefix+": manager CPU", "CPU s", none, server, seconds(res.cpu))
	t.add(prefix+": manager peak RSS", "MiB", rssTargetMiB, server, mib(res.peakRSS))
	t.addReconciles(prefix, server, res.reconciles)
	t.addPasswordOps(prefix, server, res.reconciles, 0)
	t.add(prefix+": API writes by the manager", "writes", none, server, float64(len(res.writes)))

	t.addRestart(fmt.Sprintf("manager restart with %s users on one endpoint", count(res.users)), server, res.restart, goal)
}

// addRestart adds what a restart of the manager cost, with a target for its time to settle (NaN for none).
func (t *table) addRestart(restart, server string, r restartResult, goal float64) {
	settledValue, cpu, rss, writes := none, none, none, none
	if r.settled {
		settledValue, cpu, rss, writes = seconds(r.wall), seconds(r.cpu), mib(r.peakRSS), float64(len(r.writes))
	}
	row := t.add(restart+": start to settled", "s", goal, server, settledValue)
	if !r.settled {
		note(row, server, r.why)
	}
	if r.lost.Dropped > 0 || r.lost.Unready > 0 {
		note(row, server, fmt.Sprintf("during the restart, users left the config %d times and lost Ready %d times",
			r.lost.Dropped, r.lost.Unready))
	}
	t.add(restart+": manager CPU until settled", "CPU s", none, server, cpu)
	t.add(restart+": manager peak RSS", "MiB", rssTargetMiB, server, rss)
	w := t.add(fmt.Sprintf("%s: API writes by the manager until %s after settled", restart, restartTail), "writes", 0, server, writes)
	note(w, server, writesNote(r.writes))
	if r.settled {
		t.addReconciles(restart, server, r.reconciles)
		t.addPasswordOps(restart, server, r.reconciles, 0)
	}
}
