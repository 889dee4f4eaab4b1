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
	"os"
	"time"

	"github.com/pier-dev/pier/bench/controlplane/internal/audit"
	"github.com/pier-dev/pier/bench/controlplane/internal/metrics"
	"github.com/pier-dev/pier/bench/controlplane/internal/progress"
	"github.com/pier-dev/pier/bench/internal/proc"
)

// mark is the manager's CPU time and metrics at one moment of a scenario.
type mark struct {
	at      time.Time
	cpu     time.Duration
	metrics metrics.Snapshot
	// others is the CPU time of the control plane (etcd, kube-apiserver, kube-controller-manager): the manager's
	// requests are work there too.
	others time.Duration
}

// mark reads the manager's CPU time and metrics now; a manager that has exited fails the scenario.
func (s *session) mark(ctx context.Context) (mark, error) {
	if err := s.manager.running(); err != nil {
		return mark{}, err
	}
	snap, err := s.manager.scrape(ctx)
	if err != nil {
		return mark{}, err
	}
	cpu, err := s.manager.cpu()
	if err != nil {
		return mark{}, err
	}
	others, err := othersCPU(s.manager.pid())
	if err != nil {
		return mark{}, err
	}
	return mark{at: time.Now(), cpu: cpu, metrics: snap, others: others}, nil
}

// othersCPU is the CPU time of this program's child processes but the manager: the control plane's, whose
// binaries envtest and the controlplane package start as children of this process.
func othersCPU(managerPID int) (time.Duration, error) {
	children, err := proc.Default.Children(os.Getpid())
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, c := range children {
		if c.PID == managerPID {
			continue
		}
		cpu, _, err := proc.Default.TreeCPU(c.PID)
		if err != nil {
			continue // it exited, such as a go build of this run
		}
		total += cpu
	}
	return total, nil
}

// since is the CPU time and the metrics' difference from an earlier mark of the same manager.
func (m mark) since(earlier mark) (time.Duration, metrics.Snapshot) {
	return m.cpu - earlier.cpu, m.metrics.Since(earlier.metrics)
}

// span is what the manager did over a measured stretch: from just before the first create until everything was
// reconciled, or until the timeout.
type span struct {
	load       window
	finished   bool
	counts     progress.Counts
	cpu        time.Duration // the manager's
	others     time.Duration // the control plane's
	reconciles metrics.Snapshot
}

// measure marks the manager, runs apply (which creates the load), waits until everything the tracker expects is
// reconciled or timeout has passed since apply began, and marks the manager again.
func (s *session) measure(ctx context.Context, timeout time.Duration, what string, apply func() error) (span, error) {
	before, err := s.mark(ctx)
	if err != nil {
		return span{}, err
	}
	start := time.Now()
	if err := apply(); err != nil {
		return span{}, err
	}
	end, finished, err := s.waitReconciled(ctx, start, timeout, what)
	if err != nil {
		return span{}, err
	}
	after, err := s.mark(ctx)
	if err != nil {
		return span{}, err
	}
	sp := span{load: window{start, end}, finished: finished, counts: s.tracker.Counts(), others: after.others - before.others}
	sp.cpu, sp.reconciles = after.since(before)
	s.b.log.Info("measured", "what", what, "finished", finished, "wall", end.Sub(start).Round(time.Millisecond),
		"manager_cpu", sp.cpu.Round(time.Millisecond), "progress", sp.counts.String())
	return sp, nil
}

// waitReconciled waits until everything the tracker expects is reconciled, or until timeout after start. It
// returns when the wait ended (the moment the load was reconciled, else now) and whether it was reconciled.
func (s *session) waitReconciled(ctx context.Context, start time.Time, timeout time.Duration, what string) (time.Time, bool, error) {
	stopLog := s.logProgress(what)
	defer stopLog()
	waitCtx, cancel := context.WithDeadline(ctx, start.Add(timeout))
	defer cancel()
	doneAt, err := s.tracker.Wait(waitCtx)
	if ctx.Err() != nil {
		return time.Time{}, false, ctx.Err()
	}
	if err != nil {
		return time.Now(), false, nil
	}
	return doneAt, true, nil
}

// window is a stretch of a scenario, from (inclusive) to (exclusive).
type window struct{ from, to time.Time }

// of are the writes the API server received in the window.
func (w window) of(writes []audit.Write) []audit.Write { return audit.Between(writes, w.from, w.to) }

// managerWrites are the manager's writes of the whole scenario so far, from the audit log.
func (s *session) managerWrites() ([]audit.Write, error) {
	return audit.ReadFile(s.cluster.auditLog, managerUser)
}
