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

// read is one reconcile's read; it checks which copy it got and how many API reads were made in all.
func read(t *testing.T, tr *Tracker, cache, api *store, wantStatus string, wantAPIReads int) {
	t.Helper()
	got := &corev1.ConfigMap{}
	if err := tr.Get(context.Background(), cache, api, key, got); err != nil {
		t.Fatal(err)
	}
	if got.Data["status"] != wantStatus {
		t.Errorf("read status %q, want %q", got.Data["status"], wantStatus)
	}
	if api.reads != wantAPIReads {
		t.Errorf("%d reads from the API server, want %d", api.reads, wantAPIReads)
	}
}

// wrote records a status write as the API server answered it.
func wrote(tr *Tracker, api *store, resourceVersion, status string) {
	api.set(resourceVersion, status)
	tr.Wrote(api.obj.DeepCopy())
}

func TestReadsTheCacheWhenNothingWasWritten(t *testing.T) {
	cache, api := &store{}, &store{}
	cache.set("7", "Serving")
	api.set("9", "Pending") // written by someone else: the cache shows it when its watch does
	read(t, &Tracker{}, cache, api, "Serving", 0)
}

// TestReadsTheAPIUntilTheCacheShowsTheWrite: every read while the cache lags goes to the API server, not only
// the first: a reconcile that wrote nothing in between must not fall back on the stale copy.
func TestReadsTheAPIUntilTheCacheShowsTheWrite(t *testing.T) {
	tr := &Tracker{}
	cache, api := &store{}, &store{}
	cache.set("7", "Serving")
	wrote(tr, api, "8", "Pending")
	read(t, tr, cache, api, "Pending", 1)
	read(t, tr, cache, api, "Pending", 2)

	cache.set("8", "Pending")
	read(t, tr, cache, api, "Pending", 2)
	api.set("9", "Serving") // not this reconciler's write: nothing to wait for
	read(t, tr, cache, api, "Pending", 2)
}

// TestCacheAheadOfTheWrite: a cache that already shows a later change (a spec edit after the write) is read from
// the API server once, found current, and trusted from then on.
func TestCacheAheadOfTheWrite(t *testing.T) {
	tr := &Tracker{}
	cache, api := &store{}, &store{}
	wrote(tr, api, "8", "Pending")
	api.set("10", "Pending, spec edited")
	cache.set("10", "Pending, spec edited")
	read(t, tr, cache, api, "Pending, spec edited", 1)
	read(t, tr, cache, api, "Pending, spec edited", 1)
}

func TestTheLastWriteCounts(t *testing.T) {
	tr := &Tracker{}
	cache, api := &store{}, &store{}
	wrote(tr, api, "8", "Pending")
	cache.set("8", "Pending")
	wrote(tr, api, "9", "Serving")
	read(t, tr, cache, api, "Serving", 1)
}

// TestGoneObjectsAreForgotten: an object deleted after its status was written leaves nothing behind, and an API
// error keeps the cache's copy from being trusted at the retry.
func TestGoneObjectsAreForgotten(t *testing.T) {
	tr := &Tracker{}
	cache, api := &store{}, &store{}
	cache.set("7", "Serving")
	wrote(tr, api, "8", "Pending")

	failing := &failingReader{err: errors.New("connection refused")}
	if err := tr.Get(context.Background(), cache, failing, key, &corev1.ConfigMap{}); err == nil {
		t.Fatal("an API error was not returned")
	}
	read(t, tr, cache, api, "Pending", 1)

	api.obj = nil
	if err := tr.Get(context.Background(), cache, api, key, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Fatalf("got %v, want not found", err)
	}
	if len(tr.written) != 0 {
		t.Errorf("remembered after the object was deleted: %v", tr.written)
	}

	wrote(tr, api, "8", "Pending")
	cache.obj = nil
	if err := tr.Get(context.Background(), cache, api, key, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Fatalf("got %v, want not found", err)
	}
	if len(tr.written) != 0 {
		t.Errorf("remembered after the cache lost the object: %v", tr.written)
	}
}

type failingReader struct {
	client.Reader
	err error
}

func (f *failingReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return f.err
}
