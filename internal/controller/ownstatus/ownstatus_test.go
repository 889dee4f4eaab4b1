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

package ownstatus

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var key = types.NamespacedName{Namespace: "ns", Name: "obj"}

// store is one reader's copy of a ConfigMap standing for any object: "status" in its data tells the copies apart.
// It counts its reads; nil is an object that does not exist.
type store struct {
	client.Reader
	obj   *corev1.ConfigMap
	reads int
}

func (s *store) Get(_ context.Context, _ client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	s.reads++
	if s.obj == nil {
		return apierrors.NewNotFound(corev1.Resource("configmaps"), key.Name)
	}
	s.obj.DeepCopyInto(obj.(*corev1.ConfigMap))
	return nil
}

func (s *store) set(resourceVersion, status string) {
	s.obj = &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, ResourceVersion: resourceVersion},
		Data:       map[string]string{"status": status},
	}
}

// fixture is a Tracker between a cache and an API server.
type fixture struct {
	tr         *Tracker
	cache, api *store
}

func newFixture() fixture { return fixture{tr: &Tracker{}, cache: &store{}, api: &store{}} }

// read is one reconcile's read; it checks which copy it got and how many API reads were made in all.
func (f fixture) read(t *testing.T, wantStatus string, wantAPIReads int) {
	t.Helper()
	got := &corev1.ConfigMap{}
	if err := f.tr.Get(context.Background(), f.cache, f.api, key, got); err != nil {
		t.Fatal(err)
	}
	if got.Data["status"] != wantStatus {
		t.Errorf("read status %q, want %q", got.Data["status"], wantStatus)
	}
	if f.api.reads != wantAPIReads {
		t.Errorf("%d reads from the API server, want %d", f.api.reads, wantAPIReads)
	}
}

// wrote records a status write as the API server answered it.
func (f fixture) wrote(resourceVersion, status string) {
	f.api.set(resourceVersion, status)
	f.tr.Wrote(f.api.obj.DeepCopy())
}

// readGone checks that a read reports the object gone and that nothing is remembered of it after.
func (f fixture) readGone(t *testing.T, api client.Reader) {
	t.Helper()
	if err := f.tr.Get(context.Background(), f.cache, api, key, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Fatalf("got %v, want not found", err)
	}
	if len(f.tr.written) != 0 {
		t.Errorf("remembered after the object was gone: %v", f.tr.written)
	}
}

func TestReadsTheCacheWhenNothingWasWritten(t *testing.T) {
	f := newFixture()
	f.cache.set("7", "Serving")
	f.api.set("9", "Pending") // written by someone else: the cache shows it when its watch does
	f.read(t, "Serving", 0)
}

// TestReadsTheAPIUntilTheCacheShowsTheWrite: every read while the cache lags goes to the API server, not only
// the first: a reconcile that wrote nothing in between must not fall back on the stale copy.
func TestReadsTheAPIUntilTheCacheShowsTheWrite(t *testing.T) {
	f := newFixture()
	f.cache.set("7", "Serving")
	f.wrote("8", "Pending")
	f.read(t, "Pending", 1)
	f.read(t, "Pending", 2)

	f.cache.set("8", "Pending")
	f.read(t, "Pending", 2)
	f.api.set("9", "Serving") // not this reconciler's write: nothing to wait for
	f.read(t, "Pending", 2)
}

// TestCacheAheadOfTheWrite: a cache that already shows a later change (a spec edit after the write) is read from
// the API server once, found current, and trusted from then on.
func TestCacheAheadOfTheWrite(t *testing.T) {
	f := newFixture()
	f.wrote("8", "Pending")
	f.api.set("10", "Pending, spec edited")
	f.cache.set("10", "Pending, spec edited")
	f.read(t, "Pending, spec edited", 1)
	f.read(t, "Pending, spec edited", 1)
}

func TestTheLastWriteCounts(t *testing.T) {
	f := newFixture()
	f.wrote("8", "Pending")
	f.cache.set("8", "Pending")
	f.wrote("9", "Serving")
	f.read(t, "Serving", 1)
}

// TestGoneObjectsAreForgotten: an object deleted after its status was written leaves nothing behind, and an API
// error keeps the cache's copy from being trusted at the retry.
func TestGoneObjectsAreForgotten(t *testing.T) {
	f := newFixture()
	f.cache.set("7", "Serving")
	f.wrote("8", "Pending")
	failing := &failingReader{err: errors.New("connection refused")}
	if err := f.tr.Get(context.Background(), f.cache, failing, key, &corev1.ConfigMap{}); err == nil {
		t.Fatal("an API error was not returned")
	}
	f.read(t, "Pending", 1)

	f.api.obj = nil
	f.readGone(t, f.api)

	f.wrote("8", "Pending")
	f.cache.obj = nil
	f.readGone(t, f.api)
}

type failingReader struct {
	client.Reader
	err error
}

func (f *failingReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return f.err
}
