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
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pier-dev/pier/bench/controlplane/internal/audit"
	"github.com/pier-dev/pier/bench/controlplane/internal/progress"
)

// loadResult is what one load scenario measured on one manager.
type loadResult struct {
	kind passwordKind
	span
	applied     time.Duration // how long the creates took: part of the load window, the floor of any manager
	quiet       window
	peakRSS     int64
	writesLoad  []audit.Write
	writesQuiet []audit.Write
	quietCPU    time.Duration
	// probeLoad is a user applied halfway through the creates, probeIdle one applied after the quiet window.
	probeLoad, probeIdle probe
	checked              string // what the check of the served hashes found
	// restart is what a restart of the manager cost after a load of passwords it hashed (plaintext, generated),
	// which it must not compare again.
	restart restartResult
}

// probe is one new user's way into its endpoint's config.
type probe struct {
	user    userSpec
	applied time.Time
	latency time.Duration // apply to served
	served  bool
	note    string
}

// loadPlan is what a load scenario applies.
type loadPlan struct {
	groups               [][]client.Object // per endpoint: its users' Secrets, the endpoint, its users
	users                []userSpec
	probeLoad, probeIdle userSpec
}

// planLoad makes the endpoints and users of a load of kind, and tells the tracker what to expect of them.
func (b *bench) planLoad(t *progress.Tracker, kind passwordKind) (*loadPlan, error) {
	p := &loadPlan{}
	for i := range b.o.endpoints {
		name := fmt.Sprintf("ep-%04d", i)
		t.ExpectEndpoint(name, requiredChildren(name))
		users, err := newUsers(kind, name, b.o.usersPerEndpoint, b.pool)
		if err != nil {
			return nil, err
		}
		// As a user would apply them: the Secrets the users name first, then the endpoint and its users.
		var secrets []client.Object
		rest := []client.Object{endpointObject(name)}
		for _, u := range users {
			t.ExpectUser(u.name, u.endpoint, u.username, u.hash)
			objs := u.objects()
			secrets = append(secrets, objs[:len(objs)-1]...)
			rest = append(rest, objs[len(objs)-1])
		}
		p.groups = append(p.groups, append(secrets, rest...))
		p.users = append(p.users, users...)
	}
	var err error
	if p.probeLoad, err = b.probeUser(kind, "load", "ep-0000"); err != nil {
		return nil, err
	}
	p.probeIdle, err = b.probeUser(kind, "idle", fmt.Sprintf("ep-%04d", min(1, b.o.endpoints-1)))
	return p, err
}

// probeUser is a user applied on its own, named probe-WHAT, on endpoint; the tracker does not wait for it.
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
	plan, err := b.planLoad(s.tracker, kind)
	if err != nil {
		return err
	}
	res := &loadResult{kind: kind}
	if err := b.applyLoad(ctx, s, plan, res); err != nil {
		return err
	}
	if err := b.afterLoad(ctx, s, plan, res); err != nil {
		return err
	}
	if kind != prehashed {
		if !res.finished {
			res.restart.why = "not measured: the load was not reconciled before the timeout"
		} else if res.restart, err = s.restart(ctx, b.o.timeout); err != nil {
			return err
		}
	}
	writes, err := s.managerWrites()
	if err != nil {
		return err
	}
	res.writesLoad, res.writesQuiet, res.restart.writes = res.load.of(writes), res.quiet.of(writes), res.restart.window.of(writes)
	b.logWrites("restart after the "+string(kind)+" load", bd.label, res.restart.writes)
	b.log.Info("served hashes", "scenario", string(kind), "manager", bd.label, "check", res.checked)
	b.logWrites("quiet window after the "+string(kind)+" load", bd.label, res.writesQuiet)
	b.table.addLoad(b, bd.label, res)
	return nil
}

// applyLoad creates the load, with the first probe user halfway through, and waits until it is reconciled.
func (b *bench) applyLoad(ctx context.Context, s *session, plan *loadPlan, res *loadResult) error {
	var err error
	res.span, err = s.measure(ctx, b.o.timeout, "loading", func() error {
		start := time.Now()
		half := len(plan.groups) / 2
		if err := createAll(ctx, s.cluster.admin, plan.groups[:half], b.o.workers); err != nil {
			return err
		}
		// A user applied while the bulk load is being reconciled, on the first endpoint created.
		if s.tracker.Counts().Done() {
			res.probeLoad.note = "the load was reconciled before this user was applied"
		}
		var err error
		if res.probeLoad.applied, err = s.apply(ctx, plan.probeLoad); err != nil {
			return err
		}
		if err := createAll(ctx, s.cluster.admin, plan.groups[half:], b.o.workers); err != nil {
			return err
		}
		res.applied = time.Since(start)
		b.log.Info("load applied", "objects", countObjects(plan.groups), "took", res.applied.Round(time.Millisecond))
		return nil
	})
	return err
}

// afterLoad measures the quiet window and the second probe user, and checks the served hashes.
func (b *bench) afterLoad(ctx context.Context, s *session, plan *loadPlan, res *loadResult) error {
	// The quiet window: nothing changes, so the manager should neither write nor work.
	before, err := s.mark(ctx)
	if err != nil {
		return err
	}
	if err := sleep(ctx, b.o.quiet); err != nil {
		return err
	}
	after, err := s.mark(ctx)
	if err != nil {
		return err
	}
	res.quiet, res.quietCPU = window{before.at, after.at}, after.cpu-before.cpu

	// One more user, with nothing else to do (unless the load has not finished).
	applied, err := s.apply(ctx, plan.probeIdle)
	if err != nil {
		return err
	}
	res.probeIdle = s.waitProbe(ctx, plan.probeIdle, applied, probeLimit)
	if !res.finished {
		res.probeIdle.note = joinNotes("applied while the load was still being reconciled", res.probeIdle.note)
	}
	loadNote := res.probeLoad.note
	res.probeLoad = s.waitProbe(ctx, plan.probeLoad, res.probeLoad.applied, 0)
	res.probeLoad.note = joinNotes(loadNote, res.probeLoad.note)
	if err := s.manager.running(); err != nil {
		return err
	}
	if res.peakRSS, err = s.manager.peakRSS(); err != nil {
		return err
	}
	res.checked = checkHashes(ctx, s.cluster.admin, plan.users, hashChecks)
	return nil
}

// apply creates u's objects and returns when they were applied.
func (s *session) apply(ctx context.Context, u userSpec) (time.Time, error) {
	applied := time.Now()
	return applied, createAll(ctx, s.cluster.admin, [][]client.Object{u.objects()}, 1)
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
	p := probe{user: u, applied: applied}
	at, ok := s.tracker.ServedAt(u.endpoint, u.username)
	if !ok {
		p.note = fmt.Sprintf("not in its endpoint's config %s after it was applied", time.Since(applied).Round(time.Second))
		return p
	}
	p.latency, p.served = at.Sub(applied), true
	return p
}

// joinNotes joins the notes that are not empty.
func joinNotes(notes ...string) string {
	return strings.Join(slices.DeleteFunc(notes, func(n string) bool { return n == "" }), "; ")
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
	for _, c := range audit.Summarize(writes, audit.ByKind) {
		fmt.Printf("  %s: %5d x %s\n", label, c.N, c.What)
	}
	objects := audit.Summarize(writes, audit.Write.What)
	for _, c := range objects[:min(len(objects), maxListedWrites)] {
		fmt.Printf("  %s: %5d x %s\n", label, c.N, c.What)
	}
	if len(objects) > maxListedWrites {
		fmt.Printf("  %s: and %d more objects written\n", label, len(objects)-maxListedWrites)
	}
}

// maxListedWrites bounds the objects listed after a window's writes by kind: a backlog writes thousands.
const maxListedWrites = 100
