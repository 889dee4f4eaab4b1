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
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/users"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// Limits of one endpoint, documented in docs/operator.md with the limits of one user (package users).
const (
	// MaxUsersPerEndpoint bounds the work of one reconcile and the size of the config.
	MaxUsersPerEndpoint = 10000
	// MaxConfigBytes is what the config may take in its Secret: Kubernetes refuses a Secret over 1 MiB. The
	// config goes in plain when it fits, gzipped when only that fits (about 10,000 users with a key each); past
	// that, the newest users are left out.
	MaxConfigBytes = 1000 * 1000
	// maxSecretBytes is Kubernetes' limit on the data of one Secret. The record of password sources takes what
	// the config leaves of it (16 bytes a user: the whole record fits beside any config under about 940 KB).
	maxSecretBytes = 1 << 20
)

// plannedUser is one TransferUser the endpoint serves.
type plannedUser struct {
	name  string // of the TransferUser
	entry serverconfig.User
	// source is the Secret version entry's password hash was made from, for the record of password sources; nil
	// when there is none to record (users.Resolution.PasswordSource).
	source *users.SourceID
	// problem is the reason of the weightiest problem of a user served otherwise than its spec asks (a
	// credential revoked, or kept from before while its Secret is broken), which keeps its Ready False; "" when
	// there is none.
	problem string
}

// leftOut is one TransferUser the endpoint does not serve, and why.
type leftOut struct {
	name, reason, message string
}

// userPlan is what the endpoint serves of its TransferUsers, oldest first.
type userPlan struct {
	served  []plannedUser
	leftOut []leftOut
	// unreadable is set when a Secret could not be read: its user keeps its last good credential, and the
	// reconcile looks again soon.
	unreadable bool
	// claimants are the bound TransferUsers by the username they ask for, served or not.
	claimants map[string][]string
}

// planUsers resolves every TransferUser bound to the endpoint (package users has the rules), oldest first. served
// is what the endpoint serves now: it supplies unchanged password hashes (with the record of where they came from)
// and last good credentials.
func (r *EndpointReconciler) planUsers(ctx context.Context, te *transferv1alpha1.TransferEndpoint, served servedConfig) (userPlan, error) {
	var list transferv1alpha1.TransferUserList
	// Read only: no deep copy of what may be thousands of users.
	if err := r.List(ctx, &list, client.InNamespace(te.Namespace), client.MatchingFields{indexUserEndpoint: te.Name},
		client.UnsafeDisableDeepCopy); err != nil {
		return userPlan{}, fmt.Errorf("listing the TransferUsers of endpoint %s: %w", te.Name, err)
	}
	bound := slices.DeleteFunc(list.Items, func(tu transferv1alpha1.TransferUser) bool { return !tu.DeletionTimestamp.IsZero() })
	slices.SortFunc(bound, func(a, b transferv1alpha1.TransferUser) int {
		if users.Older(&a, &b) {
			return -1
		}
		return 1
	})
	previous := map[string]*serverconfig.User{}
	if served.config != nil {
		for i := range served.config.Users {
			previous[served.config.Users[i].Username] = &served.config.Users[i]
		}
	}

	plan := userPlan{claimants: map[string][]string{}}
	refused := users.Admit(bound)
	for i := range bound {
		tu := &bound[i]
		plan.claimants[tu.Spec.Username] = append(plan.claimants[tu.Spec.Username], tu.Name)
		if p := refused[tu.Name]; p != nil {
			plan.leftOut = append(plan.leftOut, leftOut{tu.Name, p.Reason, p.Message})
			continue
		}
		if len(plan.served) >= MaxUsersPerEndpoint {
			plan.leftOut = append(plan.leftOut, leftOut{tu.Name, transferv1alpha1.ReasonEndpointFull, fmt.Sprintf(
				"endpoint %s serves at most %d users; this user is among the newest beyond that", te.Name, MaxUsersPerEndpoint)})
			continue
		}
		resolved := r.Users.Resolve(ctx, tu, users.Served{Entry: previous[tu.Spec.Username], Sources: served.sources})
		entry, problems := resolved.Entry, resolved.Problems
		if users.ErrUnreadable(problems) != nil {
			plan.unreadable = true
		}
		if entry == nil {
			plan.leftOut = append(plan.leftOut, leftOut{tu.Name, problems[0].Reason, problems[0].Message})
			continue
		}
		planned := plannedUser{name: tu.Name, entry: *entry, source: resolved.PasswordSource}
		if len(problems) > 0 {
			planned.problem = mainProblem(problems).Reason
		}
		plan.served = append(plan.served, planned)
	}
	return plan, nil
}

// passwordSources is the record of where the served users' password hashes came from, in at most limit bytes:
// the oldest users' entries when not all fit (users.EncodePasswordSources).
func (p userPlan) passwordSources(limit int) []byte {
	var vouched []users.Vouched
	for _, u := range p.served {
		if u.source != nil {
			vouched = append(vouched, users.Vouched{Username: u.entry.Username, Source: *u.source, Hash: u.entry.PasswordHash})
		}
	}
	return users.EncodePasswordSources(vouched, limit)
}

// changedUsers are the bound TransferUsers whose Ready a config write from before to after (either may be nil)
// can change: those whose username's entry differs, and, when any does, those the endpoint leaves out. A user
// left out because of another (a duplicate username, an overlapping home) names that user in its Ready
// condition, and the change of the other that moves the conflict changes the config.
func (p userPlan) changedUsers(before, after *serverconfig.Config) []string {
	entries := func(cfg *serverconfig.Config) map[string]serverconfig.User {
		out := map[string]serverconfig.User{}
		if cfg != nil {
			for _, u := range cfg.Users {
				out[u.Username] = u
			}
		}
		return out
	}
	was, is := entries(before), entries(after)
	var names []string
	for username, claimants := range p.claimants {
		a, inBefore := was[username]
		b, inAfter := is[username]
		if inBefore != inAfter || (inBefore && !users.Equal(a, b)) {
			names = append(names, claimants...)
		}
	}
	if len(names) > 0 {
		for _, u := range p.leftOut {
			names = append(names, u.name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// entries are the served users' config entries, sorted by username as the config lists them.
func (p userPlan) entries() []serverconfig.User {
	out := make([]serverconfig.User, 0, len(p.served))
	for _, u := range p.served {
		out = append(out, u.entry)
	}
	slices.SortFunc(out, func(a, b serverconfig.User) int { return strings.Compare(a.Username, b.Username) })
	return out
}

// fitConfig renders the config (render renders it with the given users) as it goes into the config Secret:
// plain when it fits in MaxConfigBytes, else gzipped, else gzipped with only as many of the plan's users, oldest
// first, as fit; the others are moved to leftOut with reason EndpointFull. It returns the Secret's data, whether
// it is gzipped, and the users served.
func fitConfig(plan *userPlan, endpoint string, limit int, render func([]serverconfig.User) ([]byte, error)) ([]byte, bool, error) {
	data, err := render(plan.entries())
	if err != nil || len(data) <= limit {
		return data, false, err
	}
	if gz := serverconfig.Gzip(data); len(gz) <= limit {
		return gz, true, nil
	}
	// The largest number of users, oldest first, whose gzipped config fits. Sizes grow with the number of users,
	// so a binary search finds it; each step renders and compresses once.
	var fitErr error
	fits := func(n int) bool {
		data, err := render((&userPlan{served: plan.served[:n]}).entries())
		if err != nil {
			fitErr = err
			return false
		}
		return len(serverconfig.Gzip(data)) <= limit
	}
	n := sort.Search(len(plan.served), func(n int) bool { return !fits(n + 1) })
	if fitErr != nil {
		return nil, false, fitErr
	}
	for _, u := range plan.served[n:] {
		plan.leftOut = append(plan.leftOut, leftOut{u.name, transferv1alpha1.ReasonEndpointFull, fmt.Sprintf(
			"endpoint %s's config would take more than the %d bytes its Secret may hold (gzipped) with this user; "+
				"the oldest users that fit are served, this one is among the newest beyond that", endpoint, limit)})
	}
	plan.served = plan.served[:n]
	data, err = render(plan.entries())
	return serverconfig.Gzip(data), true, err
}

// usersCondition sets UsersServed: which TransferUsers the endpoint does not serve, and why.
func (s *endpointState) usersCondition(plan userPlan) {
	if len(plan.leftOut) == 0 {
		s.set(transferv1alpha1.ConditionUsersServed, metav1.ConditionTrue, transferv1alpha1.ReasonAllUsersServed,
			fmt.Sprintf("every bound TransferUser is served (%d)", len(plan.served)))
		return
	}
	reason := transferv1alpha1.ReasonUsersNotServed
	var named []string
	for i, u := range plan.leftOut {
		if u.reason == transferv1alpha1.ReasonEndpointFull {
			reason = transferv1alpha1.ReasonEndpointFull
		}
		if i < maxNamedUsers {
			named = append(named, fmt.Sprintf("%s (%s)", u.name, u.reason))
		}
	}
	more := ""
	if n := len(plan.leftOut) - maxNamedUsers; n > 0 {
		more = fmt.Sprintf(" and %d more", n)
	}
	full := ""
	if reason == transferv1alpha1.ReasonEndpointFull {
		full = fmt.Sprintf(" (an endpoint serves at most %d users and %d bytes of config, gzipped; the oldest users that fit are served)",
			MaxUsersPerEndpoint, MaxConfigBytes)
	}
	s.set(transferv1alpha1.ConditionUsersServed, metav1.ConditionFalse, reason, fmt.Sprintf(
		"%d of %d bound TransferUsers are not served: %s%s%s; each one's Ready condition says why",
		len(plan.leftOut), len(plan.leftOut)+len(plan.served), strings.Join(named, ", "), more, full))
}

// maxNamedUsers bounds how many users the UsersServed message names.
const maxNamedUsers = 20

// shrinkOnly is the last config the endpoint served, with only the changes that cannot make it larger applied:
// users no longer served removed, entries that did not grow replaced (so restricted permissions, ranges,
// protocols and homes apply), users now disabled disabled. It is what the operator writes when the full config
// cannot be written, so that a revocation never waits for an unrelated problem to be fixed; it is never larger
// than what is served now.
func shrinkOnly(served *serverconfig.Config, plan userPlan) *serverconfig.Config {
	now := map[string]serverconfig.User{}
	for _, u := range plan.served {
		now[u.entry.Username] = u.entry
	}
	out := *served
	out.Users = nil
	for _, u := range served.Users {
		want, ok := now[u.Username]
		switch {
		case !ok:
			continue // removed, refused or left out: gone
		case users.EntrySize(want) <= users.EntrySize(u):
			u = want // every change that does not make the entry larger, restrictions included
		case want.Disabled:
			u.Disabled = true
		}
		out.Users = append(out.Users, u)
	}
	return &out
}
