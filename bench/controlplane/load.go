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
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pier-dev/pier/bench/controlplane/internal/audit"
	"github.com/pier-dev/pier/bench/controlplane/internal/metrics"
	"github.com/pier-dev/pier/bench/controlplane/internal/progress"
)

// loadResult is what one load scenario measured on one manager.
type loadResult struct {
	kind     passwordKind
	finished bool
	wall     time.Duration // first create to reconciled, or to the timeout
	counts   progress.Counts
	cpu      time.Duration // the manager's, over wall
	peakRSS  int64
	// reconciles is what the manager's metrics say about the load, from just before the first create to the end.
	reconciles  metrics.Snapshot
	writesLoad  []audit.Write
	writesQuiet []audit.Write
	quietCPU    time.Duration
	// probeLoad is a user applied halfway through the creates, probeIdle one applied after the quiet window.
	probeLoad, probeIdle probe
	checked              string // what the check of the served hashes found
}

// probe is one new user's way into its endpoint's config.
type probe struct {
	latency time.Duration // apply to served
	served  bool
	note    string
}

// probeUser is a user applied on its own, named probe-WHAT, on endpoint.
func (b *bench) probeUser(kind passwordKind, what, endpoint string) (userSpec, error) {
	users, err := newUsers(kind, endpoint, 1, b.pool)
	if err != nil {
		return userSpec{}, err
	}
	u := users[0]
	u.name, u.username = "probe-"+what, "probe"+what
	return u, nil
}

// runLoad applies endpoints x users-per-endpoint users of kind at once and measures the manager until they are
// reconciled (or the timeout), then through a quiet window, then with one more user.
func (b *bench) runLoad(ctx context.Context, bd *build, kind passwordKind) error {
	s, err := b.startSession(ctx, bd, "load-"+string(kind))
	if err != nil {
		return err
	}
	defer s.close()
	res := &loadResult{kind: kind}

	var groups [][]client.Object
	var all []userSpec
	for i := range b.o.endpoints {
		name := fmt.Sprintf("ep-%04d", i)
		s.tracker.ExpectEndpoint(name, requiredChildren(name))
		users, err := newUsers(kind, name, b.o.usersPerEndpoint, b.pool)
		if err != nil {
			return err
		}
		// As a user would apply them: the Secrets the users name first, then the endpoint and its users.
		var secrets, rest []client.Object
		rest = append(rest, endpointObject(name))
		for _, u := range users {
			s.tracker.ExpectUser(u.name, u.endpoint, u.username, u.hash)
			objs := u.objects()
			secrets = append(secrets, objs[:len(objs)-1]...)
			rest = append(rest, objs[len(objs)-1])
		}
		groups = append(groups, append(secrets, rest...))
		all = append(all, users...)
	}
	probeLoad, err := b.probeUser(kind, "load", "ep-0000")
	if err != nil {
		return err
	}
	probeIdle, err := b.probeUser(kind, "idle", fmt.Sprintf("ep-%04d", min(1, b.o.endpoints-1)))
	if err != nil {
		return err
	}

	m0, err := s.manager.scrape(ctx)
	if err != nil {
		return err
	}
	cpu0, err := s.manager.cpu()
	if err != nil {
		return err
	}
	start := time.Now()
	deadline := start.Add(b.o.timeout)
	stopLog := s.logProgress("loading")
	defer stopLog()
	half := len(groups) / 2
	if err := createAll(ctx, s.cluster.admin, groups[:half], b.o.workers); err != nil {
		return err
	}
	// A user applied while the bulk load is being reconciled, on the first endpoint created.
	loadApplied := time.Now()
	if s.tracker.Counts().Done() {
		res.probeLoad.note = "the load was reconciled before this user was applied"
	}
	if err := createAll(ctx, s.cluster.admin, [][]client.Object{probeLoad.objects()}, 1); err != nil {
		return err
	}
	if err := createAll(ctx, s.cluster.admin, groups[half:], b.o.workers); err != nil {
		return err
	}
	b.log.Info("load applied", "objects", countObjects(groups), "took", time.Since(start).Round(time.Millisecond))

	waitCtx, cancel := context.WithDeadline(ctx, deadline)
	doneAt, err := s.tracker.Wait(waitCtx)
	cancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	end := time.Now()
	res.finished = err == nil
	if res.finished {
		end = doneAt
	}
	res.wall, res.counts = end.Sub(start), s.tracker.Counts()
	if err := s.manager.running(); err != nil {
		return err
	}
	m1, err := s.manager.scrape(ctx)
	if err != nil {
		return err
	}
	cpu1, err := s.manager.cpu()
	if err != nil {
		return err
	}
	res.cpu, res.reconciles = cpu1-cpu0, m1.Since(m0)
	b.log.Info("load measured", "finished", res.finished, "wall", res.wall.Round(time.Millisecond),
		"manager_cpu", res.cpu.Round(time.Millisecond), "progress", res.counts.String())

	// The quiet window: nothing changes, so the manager should neither write nor work.
	quietStart := time.Now()
	if err := sleep(ctx, b.o.quiet); err != nil {
		return err
	}
	quietEnd := time.Now()
	cpu2, err := s.manager.cpu()
	if err != nil {
		return err
	}
	res.quietCPU = cpu2 - cpu1

	// One more user, with nothing else to do (unless the load has not finished).
	idleApplied := time.Now()
	if err := createAll(ctx, s.cluster.admin, [][]client.Object{probeIdle.objects()}, 1); err != nil {
		return err
	}
	res.probeIdle = s.waitProbe(ctx, probeIdle, idleApplied, probeLimit)
	if !res.finished {
		res.probeIdle.note = "applied while the load was still being reconciled"
	}
	loadNote := res.probeLoad.note
	res.probeLoad = s.waitProbe(ctx, probeLoad, loadApplied, 0)
	if loadNote != "" {
		res.probeLoad.note = loadNote
	}
	if err := s.manager.running(); err != nil {
		return err
	}
	if res.peakRSS, err = s.manager.peakRSS(); err != nil {
		return err
	}
	res.checked = checkHashes(ctx, s.cluster.admin, all, hashChecks)

	writes, err := audit.ReadFile(s.cluster.auditLog, managerUser)
	if err != nil {
		return err
	}
	res.writesLoad = audit.Between(writes, start, end)
	res.writesQuiet = audit.Between(writes, quietStart, quietEnd)
	b.logWrites("quiet window after the "+string(kind)+" load", bd.label, res.writesQuiet)
	b.table.addLoad(b, bd.label, res)
	return nil
}

// probeLimit bounds the wait for a user applied after the load.
const probeLimit = 2 * time.Minute

// hashChecks is how many served hashes of plaintext and generated passwords are checked against the passwords:
// a sample, since each check is a bcrypt comparison.
const hashChecks = 10

// waitProbe waits up to limit (0: not at all) for u to be served and says how long it took from applied.
func (s *session) waitProbe(ctx context.Context, u userSpec, applied time.Time, limit time.Duration) probe {
	if limit > 0 {
		waitCtx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		_, _ = s.tracker.WaitServed(waitCtx, u.endpoint, u.username)
	}
	at, ok := s.tracker.ServedAt(u.endpoint, u.username)
	if !ok {
		return probe{note: fmt.Sprintf("not in its endpoint's config %s after it was applied", time.Since(applied).Round(time.Second))}
	}
	return probe{latency: at.Sub(applied), served: true}
}

func countObjects(groups [][]client.Object) int {
	n := 0
	for _, g := range groups {
		n += len(g)
	}
	return n
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// logWrites lists the manager's writes of a window where there should be none: what the code that made them is.
func (b *bench) logWrites(window, label string, writes []audit.Write) {
	if len(writes) == 0 {
		return
	}
	b.log.Warn("the manager wrote to the API in a window where nothing changed", "window", window, "manager", label,
		"writes", len(writes))
	for _, c := range audit.Summarize(writes, audit.Write.What) {
		fmt.Printf("  %s: %4d x %s\n", label, c.N, c.What)
	}
}
