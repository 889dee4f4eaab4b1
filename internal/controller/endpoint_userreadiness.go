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
	// someone must fix.
	var own, waiting []transferv1alpha1.NotReadyUser
	for _, u := range t.plan.leftOut {
		entry := transferv1alpha1.NotReadyUser{Name: u.name, Reason: u.reason}
		if u.reason == transferv1alpha1.ReasonEndpointFull {
			waiting = append(waiting, entry) // the endpoint's limits, not the user, left it out
		} else {
			own = append(own, entry)
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
			own = append(own, transferv1alpha1.NotReadyUser{Name: u.name, Reason: reason})
		default:
			waiting = append(waiting, transferv1alpha1.NotReadyUser{Name: u.name, Reason: reason})
		}
	}
	out.NotReady = int32(len(own) + len(waiting))
	for _, list := range [][]transferv1alpha1.NotReadyUser{own, waiting} {
		n := min(len(list), maxNamedUsers-len(out.NotReadyUsers))
		out.NotReadyUsers = append(out.NotReadyUsers, list[:n]...)
	}
	return out
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
