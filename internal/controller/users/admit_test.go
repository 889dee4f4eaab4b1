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
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// homeUser is a user created minutes after t0 with the given home and access.
func homeUser(name string, minutes int, home string, access transferv1alpha1.Access) transferv1alpha1.TransferUser {
	tu := user(name, name, t0.Add(time.Duration(minutes)*time.Minute))
	tu.Spec.HomeDirectory = home
	tu.Spec.Access = access
	return tu
}

// TestHomeRules: the newer of two users whose homes overlap is refused, naming the older, unless the user whose
// home holds the other's is an Administrator (both, for the same home).
func TestHomeRules(t *testing.T) {
	const std, admin = transferv1alpha1.AccessStandard, transferv1alpha1.AccessAdministrator
	tests := []struct {
		name     string
		older    transferv1alpha1.TransferUser
		newer    transferv1alpha1.TransferUser
		conflict string // a word of the message, "" for none
	}{
		{"apart", homeUser("a", 0, "/a", std), homeUser("b", 1, "/b", std), ""},
		{"prefix is not a parent", homeUser("a", 0, "/a", std), homeUser("b", 1, "/ab", std), ""},
		{"same home", homeUser("a", 0, "/team", std), homeUser("b", 1, "/team", std), "also the home"},
		{"same home, both admins", homeUser("a", 0, "/team", admin), homeUser("b", 1, "/team", admin), ""},
		{"same home, one admin", homeUser("a", 0, "/team", admin), homeUser("b", 1, "/team", std), "also the home"},
		{"inside a standard home", homeUser("a", 0, "/a", std), homeUser("b", 1, "/a/b", std), "is inside"},
		{"inside an admin home", homeUser("a", 0, "/a", admin), homeUser("b", 1, "/a/b", std), ""},
		{"holding a standard home", homeUser("a", 0, "/a/b", std), homeUser("b", 1, "/a", std), "holds"},
		{"admin holding a home", homeUser("a", 0, "/a/b", std), homeUser("b", 1, "/a", admin), ""},
		{"admin at the root", homeUser("a", 0, "/a", std), homeUser("root", 1, "/", admin), ""},
		{"root without admin", homeUser("a", 0, "/a", std), homeUser("root", 1, "/", std), "holds"},
		{"default homes", user("alice", "alice", t0), user("bob", "bob", t0.Add(time.Minute)), ""},
		{"default home inside a home", homeUser("x", 0, "/alice", std), user("alice", "alice", t0.Add(time.Minute)), "also the home"},
		{"trailing slash", homeUser("a", 0, "/a", std), homeUser("b", 1, "/a/", std), "also the home"},
		{"case only", homeUser("a", 0, "/bob", std), homeUser("b", 1, "/Bob", std), "also the home"},
		{"case only, inside", homeUser("a", 0, "/Team", std), homeUser("b", 1, "/team/x", std), "is inside"},
		{"duplicate username", user("first", "alice", t0), user("second", "alice", t0.Add(time.Minute)), "already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := []transferv1alpha1.TransferUser{tt.newer, tt.older}
			if p := Conflict(&tt.older, list); p != nil {
				t.Fatalf("the older user is refused: %s", p.Message)
			}
			p := Conflict(&tt.newer, list)
			switch {
			case tt.conflict == "" && p != nil:
				t.Fatalf("refused: %s", p.Message)
			case tt.conflict != "" && p == nil:
				t.Fatal("accepted, want refused")
			case tt.conflict != "" && (!strings.Contains(p.Message, tt.conflict) || !strings.Contains(p.Message, tt.older.Name)):
				t.Fatalf("message %q does not say %q naming %s", p.Message, tt.conflict, tt.older.Name)
			}
			if got := Admit(list)[tt.newer.Name]; (got == nil) != (p == nil) || (got != nil && got.Message != p.Message) {
				t.Fatalf("Admit says %v, Conflict %v", got, p)
			}
		})
	}
}

// TestAdmitAgreesWithConflict: the endpoint's one pass over all users (Admit) and the user reconciler's check of
// one user (Conflict) give the same answer for every user, over random endpoints.
func TestAdmitAgreesWithConflict(t *testing.T) {
	for seed := range uint64(500) {
		rng := mrand.New(mrand.NewPCG(seed, 7))
		list := randomEndpoint(rng)
		admitted := Admit(list)
		for i := range list {
			want := Conflict(&list[i], list)
			got := admitted[list[i].Name]
			if (got == nil) != (want == nil) || (got != nil && got.Message != want.Message) {
				t.Fatalf("seed %d, user %s (home %q, %s): Admit %v, Conflict %v", seed, list[i].Name,
					list[i].Spec.HomeDirectory, list[i].Spec.Access, got, want)
			}
		}
	}
}

// randomEndpoint is up to 13 users of one endpoint with homes, usernames, ages and access drawn from small sets,
// so that duplicates and overlaps of every kind are common.
func randomEndpoint(rng *mrand.Rand) []transferv1alpha1.TransferUser {
	homes := []string{"", "/", "/a", "/a/b", "/a/b/c", "/ab", "/b", "/b/a", "/u1", "/u2", "/A", "/A/b"}
	n := 2 + rng.IntN(12)
	list := make([]transferv1alpha1.TransferUser, 0, n)
	for i := range n {
		access := transferv1alpha1.AccessStandard
		if rng.IntN(4) == 0 {
			access = transferv1alpha1.AccessAdministrator
		}
		tu := homeUser(fmt.Sprintf("tu%02d", i), rng.IntN(5), homes[rng.IntN(len(homes))], access)
		tu.Spec.Username = fmt.Sprintf("u%d", 1+rng.IntN(6))
		tu.Spec.EndpointRef.Name = "ep"
		list = append(list, tu)
	}
	return list
}

func TestOlderBreaksTiesByName(t *testing.T) {
	a, b := user("a", "x", t0), user("b", "x", t0)
	b.CreationTimestamp = metav1.NewTime(t0)
	if !Older(&a, &b) || Older(&b, &a) {
		t.Fatal("same creation time: the name that sorts first is older")
	}
}

// TestCandidatesFindEveryConflict: Conflict over the users whose Claims match tu's Candidates gives the same answer
// as over all the endpoint's users, over random endpoints.
func TestCandidatesFindEveryConflict(t *testing.T) {
	for seed := range uint64(300) {
		rng := mrand.New(mrand.NewPCG(seed, 11))
		list := randomEndpoint(rng)
		for i := range list {
			want := Conflict(&list[i], list)
			var found []transferv1alpha1.TransferUser
			for _, other := range list {
				if slices.ContainsFunc(Candidates(&list[i]), func(c string) bool { return slices.Contains(Claims(&other), c) }) {
					found = append(found, other)
				}
			}
			got := Conflict(&list[i], found)
			if (got == nil) != (want == nil) || (got != nil && got.Message != want.Message) {
				t.Fatalf("seed %d, user %s: over the candidates %v, over all %v", seed, list[i].Name, got, want)
			}
		}
	}
}
