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

package controller

import (
	"fmt"
	"slices"
	"testing"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// TestUserTally covers the cases of status.userReadiness the envtest tests reach rarely or not at all: a
// shrink-only config (a user served otherwise than asked, or not yet), no config at all, an endpoint full.
func TestUserTally(t *testing.T) {
	entry := func(username string) serverconfig.User {
		return serverconfig.User{Username: username, PasswordHash: "$2a$10$x", Permissions: []serverconfig.Permission{serverconfig.PermissionList}}
	}
	alice, bob, dave := entry("alice"), entry("bob"), entry("dave")
	dave.Disabled = true
	plan := userPlan{
		served: []plannedUser{
			{name: "alice", entry: alice},
			{name: "bob", entry: bob, problem: transferv1alpha1.ReasonInvalidAuthorizedKeys},
			{name: "dave", entry: dave},
		},
		leftOut: []leftOut{
			{name: "erin", reason: transferv1alpha1.ReasonEndpointFull},
			{name: "carol", reason: transferv1alpha1.ReasonDuplicateUsername},
		},
	}
	notReady := func(pairs ...string) []transferv1alpha1.NotReadyUser {
		var out []transferv1alpha1.NotReadyUser
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, transferv1alpha1.NotReadyUser{Name: pairs[i], Reason: pairs[i+1]})
		}
		return out
	}
	// alice is served with other permissions than she has now; bob and dave are not in it.
	narrower := alice
	narrower.Permissions = nil
	shrunk := &serverconfig.Config{Users: []serverconfig.User{narrower}}

	cases := []struct {
		name   string
		tally  userTally
		signal endpointSignal
		ready  int32
		named  []transferv1alpha1.NotReadyUser
	}{
		{"config written, pods available", userTally{plan: plan, servesPlan: true}, endpointSignal{available: true}, 2,
			notReady("carol", "DuplicateUsername", "bob", "InvalidAuthorizedKeys", "erin", "EndpointFull")},
		{"config written, no pod", userTally{plan: plan, servesPlan: true}, endpointSignal{unavailable: "0 of 1 pods available"}, 1,
			notReady("carol", "DuplicateUsername", "bob", "InvalidAuthorizedKeys", "erin", "EndpointFull", "alice", "EndpointUnavailable")},
		{"shrink-only config", userTally{plan: plan, serving: shrunk}, endpointSignal{available: true}, 0,
			notReady("carol", "DuplicateUsername", "erin", "EndpointFull", "alice", "Pending", "bob", "Pending", "dave", "Pending")},
		{"shrink-only config of a full endpoint", userTally{plan: plan, serving: shrunk},
			endpointSignal{available: true, full: "it serves at most 10000 users"}, 0,
			notReady("carol", "DuplicateUsername", "erin", "EndpointFull", "alice", "Pending", "bob", "EndpointFull", "dave", "EndpointFull")},
		{"no config yet, endpoint not ready", userTally{plan: plan}, endpointSignal{notReady: "NoHostKeys: no usable SSH host keys"}, 0,
			notReady("carol", "DuplicateUsername", "erin", "EndpointFull", "alice", "EndpointUnavailable", "bob", "EndpointUnavailable",
				"dave", "EndpointUnavailable")},
	}
	for _, c := range cases {
		got := c.tally.readiness(c.signal)
		if got.Ready != c.ready || got.NotReady != int32(len(c.named)) || !slices.Equal(got.NotReadyUsers, c.named) {
			t.Errorf("%s: %d ready, %d not ready: %v; want %d, %d: %v", c.name, got.Ready, got.NotReady, got.NotReadyUsers,
				c.ready, len(c.named), c.named)
		}
	}
}

// TestUserTallyBounded: the counts are exact and the list holds maxNamedUsers, users with problems of their own
// first, however many users there are.
func TestUserTallyBounded(t *testing.T) {
	var plan userPlan
	for i := range 10000 {
		name := fmt.Sprintf("u%05d", i)
		plan.served = append(plan.served, plannedUser{name: name, entry: serverconfig.User{Username: name}})
	}
	for i := range 30 {
		plan.leftOut = append(plan.leftOut, leftOut{name: fmt.Sprintf("x%02d", i), reason: transferv1alpha1.ReasonSecretNotFound})
	}
	got := userTally{plan: plan, servesPlan: true}.readiness(endpointSignal{})
	if got.Ready != 0 || got.NotReady != 10030 || len(got.NotReadyUsers) != maxNamedUsers {
		t.Fatalf("%d ready, %d not ready, %d named; want 0, 10030, %d", got.Ready, got.NotReady, len(got.NotReadyUsers), maxNamedUsers)
	}
	for _, u := range got.NotReadyUsers {
		if u.Reason != transferv1alpha1.ReasonSecretNotFound {
			t.Fatalf("named %+v before the users with problems of their own", u)
		}
	}
}
