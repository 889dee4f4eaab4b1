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
	"context"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// bcryptOps is what passwordHashes counted so far: new hashes and comparisons.
type bcryptOps struct{ hashes, compares float64 }

func countedBcrypt() bcryptOps {
	value := func(op string) float64 {
		var m dto.Metric
		if err := passwordHashes.WithLabelValues(op).Write(&m); err != nil {
			panic(err)
		}
		return m.GetCounter().GetValue()
	}
	return bcryptOps{value(opHash), value(opCompare)}
}

// wantBcrypt checks the bcrypt operations since before.
func wantBcrypt(t *testing.T, before bcryptOps, hashes, compares float64, when string) {
	t.Helper()
	now := countedBcrypt()
	if got := (bcryptOps{now.hashes - before.hashes, now.compares - before.compares}); got != (bcryptOps{hashes, compares}) {
		t.Fatalf("%s: %v hashes and %v comparisons, want %v and %v", when, got.hashes, got.compares, hashes, compares)
	}
}

// sourcesFixture is heidi, her password Secret (with a UID, as the API server gives it) and what the endpoint
// serves after a first resolution: the entry, and a record of where its hash came from.
type sourcesFixture struct {
	resolverFixture
	tu     *transferv1alpha1.TransferUser
	served Served
}

func newSourcesFixture(t *testing.T) sourcesFixture {
	t.Helper()
	secret := passwordSecret("password")
	secret.UID = "uid-1"
	f := sourcesFixture{resolverFixture: newResolverFixture(t, secret), tu: storedUser()}
	first := f.resolver.Resolve(context.Background(), f.tu, Served{})
	wantPassword(t, first, "password")
	if first.PasswordSource == nil || first.PasswordSource.UID != "uid-1" || first.PasswordSource.ResourceVersion == "" {
		t.Fatalf("the resolution names the Secret version %+v", first.PasswordSource)
	}
	f.served = f.record(first)
	return f
}

// record is what the endpoint serves once it wrote res: its entry and the record of its source.
func (f sourcesFixture) record(res Resolution) Served {
	var vouched []Vouched
	if res.PasswordSource != nil {
		vouched = append(vouched, Vouched{res.Entry.Username, *res.PasswordSource, res.Entry.PasswordHash})
	}
	return Served{Entry: res.Entry, Sources: ParsePasswordSources(EncodePasswordSources(vouched, 1<<20))}
}

// restarted is a Resolver that remembers nothing, as after the operator restarts.
func (f sourcesFixture) restarted() *Resolver { return NewResolver(f.reads, f.api) }

func (f sourcesFixture) updateSecret(t *testing.T, change func(*corev1.Secret)) {
	t.Helper()
	secret := &corev1.Secret{}
	if err := f.api.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: "heidi-pw"}, secret); err != nil {
		t.Fatal(err)
	}
	change(secret)
	if err := f.api.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
}

// TestResolveAfterARestartNeedsNoPasswordRead: with the endpoint's record, a Resolver that remembers nothing (the
// operator restarted) serves the unchanged password without reading its Secret or running bcrypt, and so does a
// change of the user's spec.
func TestResolveAfterARestartNeedsNoPasswordRead(t *testing.T) {
	ctx := context.Background()
	f := newSourcesFixture(t)
	before, reads := countedBcrypt(), f.reads.count()
	r := f.restarted()
	again := r.Resolve(ctx, f.tu, f.served)
	if !sameEntry(again.Entry, f.served.Entry) || len(again.Problems) != 0 || again.PasswordSource == nil {
		t.Fatalf("after a restart: %+v %v from %v, want the served entry from its Secret", again.Entry, again.Problems, again.PasswordSource)
	}
	f.tu.Generation++
	f.tu.Spec.Permissions = []transferv1alpha1.Permission{transferv1alpha1.PermissionReadOnly}
	restricted := r.Resolve(ctx, f.tu, f.served)
	if restricted.Entry.PasswordHash != f.served.Entry.PasswordHash || restricted.PasswordSource == nil {
		t.Fatalf("after a spec change: %+v from %v, want the served hash", restricted.Entry, restricted.PasswordSource)
	}
	f.wantReads(t, reads, "a restart and a spec change")
	wantBcrypt(t, before, 0, 0, "a restart and a spec change")

	// Without the record, the same restart reads the Secret and compares once.
	f.restarted().Resolve(ctx, f.tu, Served{Entry: f.served.Entry})
	f.wantReads(t, reads+1, "a restart without the record")
	wantBcrypt(t, before, 0, 1, "a restart without the record")
}

// TestResolveWithTheRecordAfterTheSecretChanged: every change of the Secret is read and checked, whatever the
// record says: a write that keeps the password keeps its hash after one comparison, a re-created Secret is a
// change, a new password is hashed, an unusable one keeps the last good hash without vouching for it, and a
// deleted one is revoked.
func TestResolveWithTheRecordAfterTheSecretChanged(t *testing.T) {
	ctx := context.Background()
	f := newSourcesFixture(t)
	resolve := func(t *testing.T, hashes, compares float64) Resolution {
		t.Helper()
		before, reads := countedBcrypt(), f.reads.count()
		res := f.restarted().Resolve(ctx, f.tu, f.served)
		f.wantReads(t, reads+1, "a changed Secret")
		wantBcrypt(t, before, hashes, compares, "a changed Secret")
		return res
	}

	f.updateSecret(t, func(s *corev1.Secret) { s.Labels = map[string]string{"touched": "yes"} })
	touched := resolve(t, 0, 1)
	if touched.Entry.PasswordHash != f.served.Entry.PasswordHash || touched.PasswordSource == nil ||
		touched.PasswordSource.ResourceVersion == f.served.Entry.PasswordHash {
		t.Fatalf("a Secret written with the same password: %+v from %+v, want the same hash from the new version", touched.Entry, touched.PasswordSource)
	}
	f.served = f.record(touched)

	if err := f.api.Delete(ctx, passwordSecret("")); err != nil {
		t.Fatal(err)
	}
	recreated := passwordSecret("password")
	recreated.UID = "uid-2"
	if err := f.api.Create(ctx, recreated); err != nil {
		t.Fatal(err)
	}
	again := resolve(t, 0, 1)
	if again.PasswordSource == nil || again.PasswordSource.UID != "uid-2" {
		t.Fatalf("a re-created Secret: from %+v, want uid-2", again.PasswordSource)
	}
	f.served = f.record(again)

	f.updateSecret(t, func(s *corev1.Secret) { s.Data["password"] = []byte("new password") })
	changed := resolve(t, 1, 1)
	wantPassword(t, changed, "new password")
	f.served = f.record(changed)

	f.updateSecret(t, func(s *corev1.Secret) { s.Data["password"] = []byte(strings.Repeat("x", 80)) })
	invalid := resolve(t, 0, 0)
	if invalid.Entry.PasswordHash != changed.Entry.PasswordHash || invalid.PasswordSource != nil ||
		!slices.ContainsFunc(invalid.Problems, func(p *Problem) bool { return p.Reason == transferv1alpha1.ReasonInvalidPassword }) {
		t.Fatalf("an unusable password: %+v from %+v (%v), want the last good hash kept, InvalidPassword, and nothing to record",
			invalid.Entry, invalid.PasswordSource, invalid.Problems)
	}

	if err := f.api.Delete(ctx, passwordSecret("")); err != nil {
		t.Fatal(err)
	}
	before := countedBcrypt()
	revoked := f.restarted().Resolve(ctx, f.tu, f.served)
	wantBcrypt(t, before, 0, 0, "a deleted Secret")
	if revoked.Entry == nil || revoked.Entry.PasswordHash != "" || revoked.PasswordSource != nil {
		t.Fatalf("a deleted Secret: %+v from %+v, want the password revoked", revoked.Entry, revoked.PasswordSource)
	}
}
