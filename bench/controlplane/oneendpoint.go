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
	users int
	span
	applied time.Duration // how long the creates took
	peakRSS int64
	writes  []audit.Write
	restart restartResult
}

// restartResult is what a restart of the manager cost, once everything was reconciled.
type restartResult struct {
	settled    bool
	wall       time.Duration // start of the new process to settled
	cpu        time.Duration // the new process's, until settled
	peakRSS    int64
	reconciles metrics.Snapshot
	window     window // the new process's start to restartTail after it settled
	writes     []audit.Write
	lost       progress.Counts // Dropped and Unready during the restart
	why        string          // why it did not settle
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
	s.tracker.ExpectEndpoint(oneEndpoint, requiredChildren(oneEndpoint))
	if err := createAll(ctx, s.cluster.admin, [][]client.Object{{endpointObject(oneEndpoint)}}, 1); err != nil {
		return err
	}
	if _, ok, err := s.waitReconciled(ctx, time.Now(), b.o.timeout, "one endpoint, empty"); err != nil || !ok {
		return errors.Join(err, fmt.Errorf("the empty endpoint was not reconciled in %s: %s", b.o.timeout, s.tracker.Counts()))
	}

	res := &oneEndpointResult{users: b.o.oneEndpointUsers}
	if err := b.applyOneEndpoint(ctx, s, res); err != nil {
		return err
	}
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
	writes, err := s.managerWrites()
	if err != nil {
		return err
	}
	res.writes, res.restart.writes = res.load.of(writes), res.restart.window.of(writes)
	b.logWrites("restart", bd.label, res.restart.writes)
	b.table.addOneEndpoint(b, bd.label, res)
	return nil
}

// applyOneEndpoint creates the users at once and waits until they are all served and Ready.
func (b *bench) applyOneEndpoint(ctx context.Context, s *session, res *oneEndpointResult) error {
	users, err := newUsers(prehashed, oneEndpoint, b.o.oneEndpointUsers, b.pool)
	if err != nil {
		return err
	}
	groups := make([][]client.Object, 0, len(users))
	for _, u := range users {
		s.tracker.ExpectUser(u.name, u.endpoint, u.username, u.hash)
		groups = append(groups, u.objects())
	}
	res.span, err = s.measure(ctx, b.o.timeout, "one endpoint", func() error {
		start := time.Now()
		err := createAll(ctx, s.cluster.admin, groups, b.o.workers)
		res.applied = time.Since(start)
		return err
	})
	if err != nil {
		return err
	}
	res.peakRSS, err = s.manager.peakRSS()
	return err
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
	snap, err := s.waitSettled(ctx, m, limit)
	if err != nil {
		if ctx.Err() != nil || m.running() != nil {
			return r, errors.Join(ctx.Err(), m.running())
		}
		r.why = err.Error()
		return r, nil
	}
	r.settled, r.wall, r.reconciles = true, time.Since(m.started), snap
	if r.cpu, err = m.cpu(); err != nil {
		return r, err
	}
	r.window = window{m.started, m.started.Add(r.wall + restartTail)}
	if err := sleep(ctx, restartTail); err != nil {
		return r, err
	}
	if err := m.running(); err != nil {
		return r, err
	}
	if r.peakRSS, err = m.peakRSS(); err != nil {
		return r, err
	}
	after := s.tracker.Counts()
	r.lost = progress.Counts{Dropped: after.Dropped - before.Dropped, Unready: after.Unready - before.Unready}
	return r, nil
}

// waitSettled polls the new manager's metrics until it has settled, and returns the metrics then.
func (s *session) waitSettled(ctx context.Context, m *manager, limit time.Duration) (metrics.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var want map[string]int
	last := errors.New("the manager has not served its metrics yet")
	for {
		if err := m.running(); err != nil {
			return metrics.Snapshot{}, err
		}
		if want == nil {
			// The controllers, and how many objects each must see, once the manager says which it has.
			if names, err := m.controllers(ctx); err == nil && len(names) > 0 {
				want = s.objectsPerController(names)
			}
		}
		if want != nil {
			snap, err := m.scrape(ctx)
			if err == nil {
				if err = settled(snap, want); err == nil {
					return snap, nil
				}
			}
			last = err
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return metrics.Snapshot{}, fmt.Errorf("did not settle in %s: %w", limit, last)
		}
	}
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
