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
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pier-dev/pier/bench/controlplane/internal/audit"
	"github.com/pier-dev/pier/bench/controlplane/internal/metrics"
	"github.com/pier-dev/pier/bench/controlplane/internal/progress"
)

// oneEndpointResult is what the one-endpoint scenario measured on one manager.
type oneEndpointResult struct {
	users      int
	finished   bool
	wall       time.Duration // first create to every user served and Ready
	counts     progress.Counts
	cpu        time.Duration
	peakRSS    int64
	reconciles metrics.Snapshot
	writes     []audit.Write
	restart    restartResult
}

// restartResult is what a restart of the manager cost, once everything was reconciled.
type restartResult struct {
	settled    bool
	wall       time.Duration // start of the new process to settled
	cpu        time.Duration // the new process's, until settled
	peakRSS    int64
	reconciles metrics.Snapshot
	writes     []audit.Write // from the start until restartTail after settled
	lost       progress.Counts
	why        string // why it did not settle
}

// restartTail is how long after settling the restart's writes are still counted: a write the restart causes may
// come a little after the queues have emptied (an event, a status caught up).
const restartTail = 10 * time.Second

// oneEndpoint is the endpoint of the one-endpoint scenario.
const oneEndpoint = "big"

// runOneEndpoint creates one endpoint, lets it be reconciled, then applies one-endpoint-users pre-hashed users
// at once and measures until they are all served and Ready; then kills the manager, starts it again, and
// measures what it costs until it has settled.
func (b *bench) runOneEndpoint(ctx context.Context, bd *build) error {
	s, err := b.startSession(ctx, bd, "one-endpoint")
	if err != nil {
		return err
	}
	defer s.close()
	res := &oneEndpointResult{users: b.o.oneEndpointUsers}

	s.tracker.ExpectEndpoint(oneEndpoint, requiredChildren(oneEndpoint))
	if err := createAll(ctx, s.cluster.admin, [][]client.Object{{endpointObject(oneEndpoint)}}, 1); err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, b.o.timeout)
	_, err = s.tracker.Wait(waitCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("the empty endpoint was not reconciled: %w", err)
	}

	users, err := newUsers(prehashed, oneEndpoint, b.o.oneEndpointUsers, b.pool)
	if err != nil {
		return err
	}
	groups := make([][]client.Object, 0, len(users))
	for _, u := range users {
		s.tracker.ExpectUser(u.name, u.endpoint, u.username, u.hash)
		groups = append(groups, u.objects())
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
	stopLog := s.logProgress("one endpoint")
	defer stopLog()
	if err := createAll(ctx, s.cluster.admin, groups, b.o.workers); err != nil {
		return err
	}
	waitCtx, cancel = context.WithDeadline(ctx, start.Add(b.o.timeout))
	doneAt, err := s.tracker.Wait(waitCtx)
	cancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	end := time.Now()
	if res.finished = err == nil; res.finished {
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
	if res.peakRSS, err = s.manager.peakRSS(); err != nil {
		return err
	}
	b.log.Info("one endpoint measured", "finished", res.finished, "wall", res.wall.Round(time.Millisecond),
		"progress", res.counts.String())

	if res.finished {
		// A moment for the last writes of the load to land, so that they are not counted as the restart's.
		if err := sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		if res.restart, err = s.restart(ctx, b.o.timeout); err != nil {
			return err
		}
	} else {
		res.restart.why = "not measured: the users were not all served and Ready before the timeout"
	}

	writes, err := audit.ReadFile(s.cluster.auditLog, managerUser)
	if err != nil {
		return err
	}
	res.writes = audit.Between(writes, start, end)
	if r := &res.restart; r.settled {
		r.writes = audit.Between(writes, s.manager.started, s.manager.started.Add(r.wall+restartTail))
		b.logWrites("restart", bd.label, r.writes)
	}
	b.table.addOneEndpoint(b, bd.label, res)
	return nil
}

// restart kills the manager, starts it again and waits until it has worked through what its start queued (see
// settled), and restartTail more.
func (s *session) restart(ctx context.Context, limit time.Duration) (restartResult, error) {
	var r restartResult
	before := s.tracker.Counts()
	s.manager.kill()
	s.starts++
	m, err := startManager(s.build, s.cluster.kubeconfig, s.dir, s.starts)
	if err != nil {
		return r, err
	}
	s.manager = m
	want := map[string]int{}
	waitCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if err := m.running(); err != nil {
			return r, err
		}
		if len(want) == 0 {
			// The controllers and how many objects each must see, once the manager says which it has.
			if names, err := m.controllers(waitCtx); err == nil && len(names) > 0 {
				want = s.objectsPerController(names)
			}
		}
		if len(want) > 0 {
			snap, err := m.scrape(waitCtx)
			if err == nil {
				if err = settled(snap, want); err == nil {
					r.settled, r.wall = true, time.Since(m.started)
					if r.cpu, err = m.cpu(); err != nil {
						return r, err
					}
					r.reconciles = snap
					break
				}
			}
			if !errors.Is(err, errNotSettled) && waitCtx.Err() == nil && err != nil {
				s.b.log.Warn("scraping the restarted manager", "error", err)
			}
			r.why = fmt.Sprint(err)
		}
		if err := sleep(waitCtx, 100*time.Millisecond); err != nil {
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			r.why = fmt.Sprintf("did not settle in %s: %s", limit, r.why)
			return r, nil
		}
	}
	if err := sleep(ctx, restartTail); err != nil {
		return r, err
	}
	if err := m.running(); err != nil {
		return r, err
	}
	var err2 error
	if r.peakRSS, err2 = m.peakRSS(); err2 != nil {
		return r, err2
	}
	after := s.tracker.Counts()
	r.lost = progress.Counts{Dropped: after.Dropped - before.Dropped, Unready: after.Unready - before.Unready}
	return r, nil
}

// objectsPerController is how many objects each of the named controllers lists at its start: the endpoints for
// transferendpoint, the users for transferuser; a controller of another name is only required to be idle.
func (s *session) objectsPerController(names []string) map[string]int {
	c := s.tracker.Counts()
	want := map[string]int{}
	for _, name := range names {
		switch name {
		case "transferendpoint":
			want[name] = c.Endpoints
		case "transferuser":
			want[name] = c.Users
		default:
			want[name] = 0
		}
	}
	return want
}
