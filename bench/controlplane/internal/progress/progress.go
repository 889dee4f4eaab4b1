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

// Package progress follows a bulk load of TransferEndpoints and TransferUsers from what watches report, and says
// when it is reconciled: every expected endpoint has its children and a status for its current generation and
// serves every expected user in its config Secret (with the expected password hash, when one is expected), and
// every expected user is Ready. It also remembers when each username first appeared in each endpoint's config,
// for the new-user latencies. It is fed events and never reads the API itself, so it is tested without one.
package progress

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Child is an object an endpoint must have before it counts as reconciled.
type Child struct{ Kind, Name string }

// Counts say how far a load got.
type Counts struct {
	Endpoints, EndpointsDone       int
	Users, UsersServed, UsersReady int
	Dropped, Unready               int // times an expected user left its config, or lost Ready, after having it
	LenientConfigs                 int // configs serverconfig.Parse refused, read for their users only
	LenientReason                  string
}

// Done says whether everything expected is reconciled.
func (c Counts) Done() bool {
	return c.EndpointsDone == c.Endpoints && c.UsersServed == c.Users && c.UsersReady == c.Users
}

func (c Counts) String() string {
	return fmt.Sprintf("%d of %d endpoints reconciled, %d of %d users in their endpoint's config, %d Ready",
		c.EndpointsDone, c.Endpoints, c.UsersServed, c.Users, c.UsersReady)
}

// Tracker is the state of a load; its methods are safe for concurrent use (watches deliver from goroutines of
// their own).
type Tracker struct {
	mu  sync.Mutex
	now func() time.Time

	// What the watches reported, for every object, expected or not.
	present  map[Child]bool
	statusOK map[string]bool              // endpoint: status.observedGeneration == metadata.generation
	served   map[string]map[string]string // endpoint: username: password hash, from its config Secret
	ready    map[string]bool              // TransferUser: Ready
	first    map[string]time.Time         // endpoint/username: when its config first served it

	// What the load expects.
	endpoints map[string]*endpoint
	childOf   map[Child]string
	users     map[string]*user

	counts  Counts
	doneAt  time.Time
	changed chan struct{}
}

type endpoint struct {
	children []Child
	users    []*user
	done     bool
}

type user struct {
	endpoint, username, wantHash string
	served, ready                bool
}

// New returns an empty tracker that reads the time from now (time.Now outside tests).
func New(now func() time.Time) *Tracker {
	return &Tracker{now: now, present: map[Child]bool{}, statusOK: map[string]bool{}, served: map[string]map[string]string{},
		ready: map[string]bool{}, first: map[string]time.Time{}, endpoints: map[string]*endpoint{},
		childOf: map[Child]string{}, users: map[string]*user{}, changed: make(chan struct{})}
}

// ExpectEndpoint adds an endpoint that must have children, a current status and its expected users served.
func (t *Tracker) ExpectEndpoint(name string, children []Child) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.endpoints[name]; ok {
		return
	}
	e := &endpoint{children: children}
	for _, u := range t.users {
		if u.endpoint == name {
			e.users = append(e.users, u)
		}
	}
	t.endpoints[name] = e
	t.counts.Endpoints++
	for _, c := range children {
		t.childOf[c] = name
	}
	t.evaluate(name)
	t.update(t.now())
}

// ExpectUser adds the TransferUser name, which must become Ready and be served by endpoint as username; with
// wantHash, the config must carry exactly that hash (a pre-hashed password is served as given), else any.
func (t *Tracker) ExpectUser(name, endpointName, username, wantHash string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.users[name]; ok {
		return
	}
	u := &user{endpoint: endpointName, username: username, wantHash: wantHash, ready: t.ready[name]}
	u.served = u.isServed(t.served[endpointName])
	t.users[name] = u
	t.counts.Users++
	if u.served {
		t.counts.UsersServed++
	}
	if u.ready {
		t.counts.UsersReady++
	}
	if e, ok := t.endpoints[endpointName]; ok {
		e.users = append(e.users, u)
		t.evaluate(endpointName)
	}
	t.update(t.now())
}

func (u *user) isServed(config map[string]string) bool {
	hash, ok := config[u.username]
	return ok && hash != "" && (u.wantHash == "" || hash == u.wantHash)
}

// Child records that an object of kind and name exists, or no longer does.
func (t *Tracker) Child(kind, name string, exists bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := Child{Kind: kind, Name: name}
	if t.present[c] == exists {
		return
	}
	if exists {
		t.present[c] = true
	} else {
		delete(t.present, c)
	}
	if e, ok := t.childOf[c]; ok {
		t.evaluate(e)
		t.update(t.now())
	}
}

// EndpointStatus records whether the endpoint's status is written for its current generation.
func (t *Tracker) EndpointStatus(name string, current bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.statusOK[name] == current {
		return
	}
	t.statusOK[name] = current
	if _, ok := t.endpoints[name]; ok {
		t.evaluate(name)
		t.update(t.now())
	}
}

// Config records the users the endpoint's config Secret serves now (nil: the Secret is gone); lenient is why
// the config was read leniently, nil when it decoded strictly.
func (t *Tracker) Config(endpointName string, users map[string]string, lenient error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for username := range users {
		key := endpointName + "/" + username
		if _, ok := t.first[key]; !ok {
			t.first[key] = now
		}
	}
	if lenient != nil {
		t.counts.LenientConfigs++
		if t.counts.LenientReason == "" {
			t.counts.LenientReason = lenient.Error()
		}
	}
	t.served[endpointName] = users
	e, ok := t.endpoints[endpointName]
	if !ok {
		t.update(now)
		return
	}
	for _, u := range e.users {
		flip(&u.served, u.isServed(users), &t.counts.UsersServed, &t.counts.Dropped)
	}
	t.evaluate(endpointName)
	t.update(now)
}

// User records whether the TransferUser name is Ready.
func (t *Tracker) User(name string, ready bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ready[name] == ready {
		return
	}
	t.ready[name] = ready
	u, ok := t.users[name]
	if !ok {
		return
	}
	flip(&u.ready, ready, &t.counts.UsersReady, &t.counts.Unready)
	t.update(t.now())
}

// evaluate decides whether the expected endpoint name is reconciled now. The caller holds the lock.
func (t *Tracker) evaluate(name string) {
	e := t.endpoints[name]
	done := t.statusOK[name]
	for _, c := range e.children {
		done = done && t.present[c]
	}
	for _, u := range e.users {
		done = done && u.served
	}
	var regressions int
	flip(&e.done, done, &t.counts.EndpointsDone, &regressions)
}

// flip sets *state to now, and keeps count (how many hold) and lost (how many times one stopped holding) in step.
func flip(state *bool, now bool, count, lost *int) {
	switch {
	case now && !*state:
		*count++
	case !now && *state:
		*count--
		*lost++
	}
	*state = now
}

// update notes when the load became reconciled (now) and wakes the waiters. The caller holds the lock.
func (t *Tracker) update(now time.Time) {
	switch done := t.counts.Done(); {
	case done && t.doneAt.IsZero():
		t.doneAt = now
	case !done:
		t.doneAt = time.Time{}
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// Counts says how far the load is.
func (t *Tracker) Counts() Counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts
}

// ServedAt is when the endpoint's config first served username.
func (t *Tracker) ServedAt(endpointName, username string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.first[endpointName+"/"+username]
	return at, ok
}

// Wait returns when everything expected is reconciled, and since when, or ctx's error with how far it got.
func (t *Tracker) Wait(ctx context.Context) (time.Time, error) {
	return waitFor(ctx, t, func() (time.Time, bool) { return t.doneAt, !t.doneAt.IsZero() })
}

// WaitServed returns when the endpoint's config first served username, once it has.
func (t *Tracker) WaitServed(ctx context.Context, endpointName, username string) (time.Time, error) {
	return waitFor(ctx, t, func() (time.Time, bool) {
		at, ok := t.first[endpointName+"/"+username]
		return at, ok
	})
}

// waitFor waits until cond, called with the lock held, holds.
func waitFor(ctx context.Context, t *Tracker, cond func() (time.Time, bool)) (time.Time, error) {
	for {
		t.mu.Lock()
		at, ok := cond()
		changed, counts := t.changed, t.counts
		t.mu.Unlock()
		if ok {
			return at, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%w (%s)", ctx.Err(), counts)
		}
	}
}
