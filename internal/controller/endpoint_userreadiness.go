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
	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/users"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// userTally is what status.userReadiness is decided from: the reconcile's plan of the bound users and the config
// the endpoint's Secret holds after it.
type userTally struct {
	plan userPlan
	// serving is the config in the Secret now: the one this reconcile wrote, or the one it kept.
	serving *serverconfig.Config
	// servesPlan is set when serving was rendered from plan.served as it is, so every served user's entry is
	// in it as wanted and needs no comparison (the common case, and at 10,000 users the cheap one).
	servesPlan bool
}

// readiness counts the bound users by the Ready condition the user reconciler gives each of them
// (UserReconciler.readiness), decided from what the endpoint reconcile knows instead of read from the users'
// statuses: the counts are then as current as the config they describe, and reading them costs no reconcile of
// the endpoint per user status write. signal is the endpoint's status as the user reconciler reads it. The
// user's own Ready can lag behind by the moment its reconciler takes to see a new config (it says Pending then).
func (t userTally) readiness(signal endpointSignal) *transferv1alpha1.UserReadiness {
	out := &transferv1alpha1.UserReadiness{}
	// Users with a problem of their own are listed before those that wait for the endpoint: they are the ones
	// someone must fix. Each list keeps only what the status can name, whatever the number of users.
	var own, waiting namedUsers
	for _, u := range t.plan.leftOut {
		if u.reason == transferv1alpha1.ReasonEndpointFull {
			waiting.add(u.name, u.reason) // the endpoint's limits, not the user, left it out
		} else {
			own.add(u.name, u.reason)
		}
	}
	var byName map[string]serverconfig.User
	if !t.servesPlan && t.serving != nil {
		byName = make(map[string]serverconfig.User, len(t.serving.Users))
		for _, e := range t.serving.Users {
			byName[e.Username] = e
		}
	}
	for _, u := range t.plan.served {
		reason, isOwn := t.userReason(u, byName, signal)
		switch {
		case reason == "":
			out.Ready++
		case isOwn:
			own.add(u.name, reason)
		default:
			waiting.add(u.name, reason)
		}
	}
	out.NotReady = own.count + waiting.count
	out.NotReadyUsers = append(own.names, waiting.names[:min(len(waiting.names), maxNamedUsers-len(own.names))]...)
	return out
}

// namedUsers counts users not Ready and keeps the first maxNamedUsers of them.
type namedUsers struct {
	count int32
	names []transferv1alpha1.NotReadyUser
}

func (n *namedUsers) add(name, reason string) {
	n.count++
	if len(n.names) < maxNamedUsers {
		n.names = append(n.names, transferv1alpha1.NotReadyUser{Name: name, Reason: reason})
	}
}

// userReason is the reason of a planned user's Ready condition when it is False ("" when it is True), in the
// order UserReconciler.readiness decides it, and whether the problem is the user's own rather than the endpoint's.
func (t userTally) userReason(u plannedUser, served map[string]serverconfig.User, signal endpointSignal) (string, bool) {
	if !t.servesPlan {
		entry, ok := served[u.entry.Username]
		switch {
		case !ok && signal.full != "":
			return transferv1alpha1.ReasonEndpointFull, false
		case !ok && signal.notReady != "":
			return transferv1alpha1.ReasonEndpointUnavailable, false
		case !ok || !users.Equal(u.entry, entry):
			return transferv1alpha1.ReasonPending, false
		}
	}
	switch {
	case u.problem != "":
		return u.problem, true
	case u.entry.Disabled:
		return "", false
	case !signal.available:
		return transferv1alpha1.ReasonEndpointUnavailable, false
	}
	return "", false
}
