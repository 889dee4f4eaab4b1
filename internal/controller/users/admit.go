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

package users

import (
	"fmt"
	"path"
	"slices"
	"strings"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// Older reports whether a comes before b in the order that decides who keeps a username or a home directory when
// two users claim it: the older TransferUser, then the one whose name sorts first. A newer user never takes
// anything away from one that had it first.
func Older(a, b *transferv1alpha1.TransferUser) bool {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c < 0
	}
	return a.Name < b.Name
}

// Home is the user's home directory as the server resolves it (serverconfig.User.HomeDir, which defaults it to
// /<username>), cleaned.
func Home(tu *transferv1alpha1.TransferUser) string {
	u := serverconfig.User{Username: tu.Spec.Username, HomeDirectory: tu.Spec.HomeDirectory}
	return path.Clean(u.HomeDir())
}

// homeKey is the home directory as overlaps are judged: without case, because on the volumes that ignore case
// (SMB, Azure Files, some FUSE file systems) /bob and /Bob are one directory. On the others this refuses a few
// homes that would not overlap, which is the safe side.
func homeKey(tu *transferv1alpha1.TransferUser) string {
	return strings.ToLower(Home(tu))
}

// IsAdministrator reports whether the user may see other users' home directories (spec.access: Administrator).
func IsAdministrator(tu *transferv1alpha1.TransferUser) bool {
	return tu.Spec.Access == transferv1alpha1.AccessAdministrator
}

// Conflict is the first user older than tu, among others (users of the same endpoint, deleted ones left out by
// the caller), that keeps tu from being served: one with the same username, or one whose home directory overlaps
// tu's in a way the access rules forbid. Nil when there is none.
//
// Two homes overlap when they are the same directory or one holds the other. The user whose home holds the other's
// sees that user's files, which only an Administrator may: so the pair is allowed when the holding user (both, for
// the same directory) has access Administrator, and otherwise the newer of the two is refused. Every older user
// counts, served or not, so both reconcilers reach the same answer from the same list.
func Conflict(tu *transferv1alpha1.TransferUser, others []transferv1alpha1.TransferUser) *Problem {
	key, admin := homeKey(tu), IsAdministrator(tu)
	var first *transferv1alpha1.TransferUser // the oldest conflicting user
	var problem *Problem
	for i := range others {
		other := &others[i]
		if other.Name == tu.Name || !Older(other, tu) || (first != nil && !Older(other, first)) {
			continue
		}
		if other.Spec.Username == tu.Spec.Username {
			first, problem = other, &Problem{Reason: transferv1alpha1.ReasonDuplicateUsername, Effect: Refused, Message: fmt.Sprintf(
				"username %q is already used on endpoint %s by TransferUser %s, which is older; choose another username",
				tu.Spec.Username, tu.Spec.EndpointRef.Name, other.Name)}
		} else if msg := overlap(key, admin, homeKey(other), IsAdministrator(other), Home(tu), Home(other), other.Name); msg != "" {
			first, problem = other, &Problem{Reason: transferv1alpha1.ReasonHomeOverlap, Effect: Refused, Message: msg}
		}
	}
	return problem
}

// overlap explains why a user with home key and admin may not sit beside the older user other, or returns "".
// The keys are compared; the homes, as the users wrote them, go in the message.
func overlap(key string, admin bool, otherKey string, otherAdmin bool, home, otherHome, other string) string {
	const fix = "give each user a home of its own, or set spec.access: Administrator on the user meant to see the other's files"
	switch {
	case key == otherKey && (!admin || !otherAdmin):
		return fmt.Sprintf("home directory %s is also the home of TransferUser %s (%s), which is older: each would see the other's files; %s",
			home, other, otherHome, fix)
	case contains(otherKey, key) && !otherAdmin:
		return fmt.Sprintf("home directory %s is inside %s, the home of TransferUser %s, which is older and would see this user's files; %s",
			home, otherHome, other, fix)
	case contains(key, otherKey) && !admin:
		return fmt.Sprintf("home directory %s holds %s, the home of TransferUser %s, which is older: this user would see its files; %s",
			home, otherHome, other, fix)
	}
	return ""
}

// contains reports whether directory outer strictly holds inner.
func contains(outer, inner string) bool {
	return outer != inner && (outer == "/" || strings.HasPrefix(inner, outer+"/"))
}

// Admit is Conflict for every user of one endpoint at once: TransferUser name -> the problem that keeps it from
// being served, for the users that have one. It gives the same answers as calling Conflict for each user (a test
// checks that), in time proportional to the users times the depth of their homes instead of the users squared,
// which matters for an endpoint with thousands of users.
func Admit(list []transferv1alpha1.TransferUser) map[string]*Problem {
	sorted := make([]*transferv1alpha1.TransferUser, 0, len(list))
	for i := range list {
		sorted = append(sorted, &list[i])
	}
	slices.SortFunc(sorted, func(a, b *transferv1alpha1.TransferUser) int {
		if Older(a, b) {
			return -1
		}
		return 1
	})
	type seen struct {
		tu   *transferv1alpha1.TransferUser
		rank int // position in age order: lower is older
	}
	older := func(a, b *seen) *seen {
		if a == nil || (b != nil && b.rank < a.rank) {
			return b
		}
		return a
	}
	owner := map[string]*seen{}       // username -> oldest user with it
	atHome := map[string]*seen{}      // home -> oldest user with exactly that home
	standardAt := map[string]*seen{}  // home -> oldest Standard user with it
	below := map[string]*seen{}       // directory -> oldest user whose home is strictly inside it
	problems := map[string]*Problem{} // the result

	for rank, tu := range sorted {
		me := &seen{tu: tu, rank: rank}
		home, admin := homeKey(tu), IsAdministrator(tu)
		// The oldest older user that conflicts, of each kind; the oldest of them all is the answer.
		var first *seen
		first = older(first, owner[tu.Spec.Username])
		if admin {
			first = older(first, standardAt[home])
		} else {
			first = older(first, atHome[home])
			first = older(first, below[home])
		}
		for _, dir := range ancestors(home) {
			first = older(first, standardAt[dir])
		}
		if first != nil {
			problems[tu.Name] = Conflict(tu, []transferv1alpha1.TransferUser{*first.tu})
		}

		// Every user counts for the ones after it, served or not.
		if owner[tu.Spec.Username] == nil {
			owner[tu.Spec.Username] = me
		}
		if atHome[home] == nil {
			atHome[home] = me
		}
		if !admin && standardAt[home] == nil {
			standardAt[home] = me
		}
		for _, dir := range ancestors(home) {
			if below[dir] == nil {
				below[dir] = me
			}
		}
	}
	return problems
}

// ancestors are the directories that strictly hold home, "/" first.
func ancestors(home string) []string {
	if home == "/" {
		return nil
	}
	out := []string{"/"}
	for i := 1; i < len(home); i++ {
		if home[i] == '/' {
			out = append(out, home[:i])
		}
	}
	return out
}

// Claims are the index values under which a user can be found by the users it may conflict with (see Candidates):
// its username and its home directory on its endpoint, and every directory that holds its home. The operator
// indexes TransferUsers by them, so checking one user among thousands reads only the few that matter.
func Claims(tu *transferv1alpha1.TransferUser) []string {
	ep, home := tu.Spec.EndpointRef.Name, homeKey(tu)
	dirs := ancestors(home)
	out := make([]string, 0, 2+len(dirs))
	out = append(out, claimName(ep, tu.Spec.Username), claimHome(ep, home))
	for _, dir := range dirs {
		out = append(out, claimUnder(ep, dir))
	}
	return out
}

// Candidates are the index values (see Claims) of every user that may conflict with tu: the same username, the
// same home, a home inside tu's, or a home that holds tu's. Conflict over the users found under them gives the
// same answer as over all the endpoint's users.
func Candidates(tu *transferv1alpha1.TransferUser) []string {
	ep, home := tu.Spec.EndpointRef.Name, homeKey(tu)
	dirs := ancestors(home)
	out := make([]string, 0, 3+len(dirs))
	out = append(out, claimName(ep, tu.Spec.Username), claimHome(ep, home), claimUnder(ep, home))
	for _, dir := range dirs {
		out = append(out, claimHome(ep, dir))
	}
	return out
}

func claimName(endpoint, username string) string { return "name " + endpoint + " " + username }
func claimHome(endpoint, dir string) string      { return "home " + endpoint + " " + dir }
func claimUnder(endpoint, dir string) string     { return "under " + endpoint + " " + dir }
