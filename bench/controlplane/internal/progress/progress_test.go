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

package progress

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// clock is a fake time that moves one second per reading.
type clock struct{ t time.Time }

func (c *clock) now() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}

func children(endpoint string) []Child {
	return []Child{{"Deployment", endpoint}, {"Secret", endpoint + "-config"}}
}

func TestLoadIsDoneWhenEverythingHolds(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	tr := New(c.now)
	tr.ExpectEndpoint("a", children("a"))
	tr.ExpectUser("a-u1", "a", "u1", "$2a$10$hash1")
	tr.ExpectUser("a-u2", "a", "u2", "")
	if got := tr.Counts(); got.Done() || got.Endpoints != 1 || got.Users != 2 {
		t.Fatalf("before any event: %+v", got)
	}

	tr.Child("Deployment", "a", true)
	tr.Child("Secret", "a-config", true)
	tr.EndpointStatus("a", true)
	// u1 is served with another hash than its pre-hashed one: not served as asked.
	tr.Config("a", map[string]string{"u1": "$2a$10$other", "u2": "$2a$10$x"}, nil)
	tr.User("a-u1", true)
	tr.User("a-u2", true)
	if got := tr.Counts(); got.Done() || got.UsersServed != 1 || got.EndpointsDone != 0 || got.UsersReady != 2 {
		t.Fatalf("u1 served with the wrong hash: %+v", got)
	}
	tr.Config("a", map[string]string{"u1": "$2a$10$hash1", "u2": "$2a$10$x", "probe": "$2a$10$y"}, nil)
	got := tr.Counts()
	if !got.Done() || got.EndpointsDone != 1 || got.UsersServed != 2 {
		t.Fatalf("everything holds: %+v", got)
	}
	at, err := tr.Wait(context.Background())
	if err != nil || !at.Equal(c.t) {
		t.Errorf("Wait = %v, %v; want the time of the last event, %v", at, err, c.t)
	}
	// Every username the config served is remembered from the first config that had it, expected or not.
	if first, ok := tr.ServedAt("a", "u2"); !ok || !first.Before(at) {
		t.Errorf("u2 first served at %v (%t), want the first config's time, before %v", first, ok, at)
	}
	if probe, ok := tr.ServedAt("a", "probe"); !ok || !probe.Equal(at) {
		t.Errorf("probe first served at %v (%t), want %v", probe, ok, at)
	}
	if _, ok := tr.ServedAt("a", "nobody"); ok {
		t.Error("a username never served has a time")
	}
}

// Regressions are counted, and the load is no longer done.
func TestRegressions(t *testing.T) {
	tr := New(time.Now)
	tr.ExpectEndpoint("a", children("a"))
	tr.ExpectUser("a-u1", "a", "u1", "")
	tr.ExpectUser("a-u2", "a", "u2", "")
	tr.Child("Deployment", "a", true)
	tr.Child("Secret", "a-config", true)
	tr.EndpointStatus("a", true)
	tr.Config("a", map[string]string{"u1": "$2a$10$x", "u2": "$2a$10$x"}, nil)
	tr.User("a-u1", true)
	tr.User("a-u2", true)
	if !tr.Counts().Done() {
		t.Fatalf("not done: %+v", tr.Counts())
	}
	tr.Config("a", map[string]string{"u2": "$2a$10$x"}, nil)
	tr.User("a-u2", false)
	if got := tr.Counts(); got.Done() || got.Dropped != 1 || got.Unready != 1 || got.EndpointsDone != 0 {
		t.Errorf("after u1 left the config and u2 lost Ready: %+v", got)
	}
}

// Facts reported before they were expected count: the second phase of a scenario expects new users of an
// endpoint that is already reconciled.
func TestExpectationsAfterTheFacts(t *testing.T) {
	c := &clock{}
	tr := New(c.now)
	tr.Child("Deployment", "big", true)
	tr.Child("Secret", "big-config", true)
	tr.EndpointStatus("big", true)
	tr.Config("big", map[string]string{}, nil)
	tr.ExpectEndpoint("big", children("big"))
	if !tr.Counts().Done() {
		t.Fatalf("the endpoint was reconciled before it was expected: %+v", tr.Counts())
	}
	tr.User("big-u1", true) // Ready before it is expected, served only later
	tr.ExpectUser("big-u1", "big", "u1", "")
	if got := tr.Counts(); got.Done() || got.UsersReady != 1 || got.EndpointsDone != 0 {
		t.Fatalf("a new user not served yet: %+v", got)
	}
	tr.Config("big", map[string]string{"u1": "$2a$10$x"}, errors.New(`unknown field "passwordCache"`))
	got := tr.Counts()
	if !got.Done() || got.LenientConfigs != 1 || !strings.Contains(got.LenientReason, "passwordCache") {
		t.Errorf("served leniently: %+v", got)
	}
	// A child that goes away undoes the endpoint.
	tr.Child("Deployment", "big", false)
	if tr.Counts().Done() {
		t.Error("done without the Deployment")
	}
	// Children and statuses of endpoints not expected change nothing.
	tr.Child("Deployment", "other", true)
	tr.EndpointStatus("other", true)
	tr.User("other-u", true)
	if got := tr.Counts(); got.Endpoints != 1 || got.Users != 1 {
		t.Errorf("unexpected objects were counted: %+v", got)
	}
}

func TestWaitGivesUpWithHowFarItGot(t *testing.T) {
	tr := New(time.Now)
	tr.ExpectEndpoint("a", children("a"))
	tr.ExpectUser("a-u1", "a", "u1", "")
	tr.User("a-u1", true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := tr.Wait(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "0 of 1 endpoints reconciled, 0 of 1 users in their endpoint's config, 1 Ready") {
		t.Errorf("Wait = %v; want the deadline and the counts", err)
	}
	// WaitServed wakes up on the config that serves the username.
	go func() {
		time.Sleep(5 * time.Millisecond)
		tr.Config("a", map[string]string{"late": "$2a$10$x"}, nil)
	}()
	at, err := tr.WaitServed(context.Background(), "a", "late")
	if err != nil || at.IsZero() {
		t.Errorf("WaitServed = %v, %v", at, err)
	}
}
