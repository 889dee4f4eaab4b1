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

// Package ownstatus lets a reconciler that reads its objects from the manager's cache, and writes their status
// only when it changed, see the status it wrote itself before the cache does.
//
// The cache is filled by a watch and lags behind the API server, most of all under load. A reconcile that soon
// follows the reconciler's own status write (another event for the object came in meanwhile) can read the object
// as it was before that write. Deciding "unchanged" against that copy writes nothing; and since the reconcilers
// ignore status-only updates (otherwise each of their own writes would wake them again), nothing corrects it: the
// API server keeps the status written before until something else changes. A Tracker remembers what each status
// write returned, and has a copy from the cache that does not show it yet read again from the API server.
package ownstatus

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Tracker remembers, for each object whose status a reconciler wrote, the resourceVersion the API server gave
// that write, until the cache shows it. Its zero value is ready to use; it is safe for concurrent use.
type Tracker struct {
	mu sync.Mutex
	// written holds only objects the cache may not show the last write of yet, so it stays small.
	written map[types.NamespacedName]string
}

// Wrote records a status write of obj, as the write returned it (client Patch and Update fill obj in with the
// API server's answer, resourceVersion included).
func (t *Tracker) Wrote(obj client.Object) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.written == nil {
		t.written = map[types.NamespacedName]string{}
	}
	t.written[client.ObjectKeyFromObject(obj)] = obj.GetResourceVersion()
}

// Get reads key into obj from cache, or from api when the cache's copy may predate the status last written for
// it. It is the one read a reconcile bases its status on: written when it differs from what Get returned.
//
// Resource versions are compared for equality only (the API treats them as opaque): a copy whose version is not
// the one last written is read again, and once the API server's version is the cache's, the cache has caught up.
func (t *Tracker) Get(ctx context.Context, cache, api client.Reader, key types.NamespacedName, obj client.Object) error {
	if err := cache.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			t.Forget(key)
		}
		return err
	}
	cached := obj.GetResourceVersion()
	written, ok := t.lookup(key)
	if !ok {
		return nil
	}
	if cached == written {
		t.forgetIfStill(key, written)
		return nil
	}
	if err := api.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			t.Forget(key)
		}
		return err
	}
	if obj.GetResourceVersion() == cached {
		// The cache holds what the API server holds, so it has seen the write, and later changes too.
		t.forgetIfStill(key, written)
	}
	return nil
}

// Forget drops what the Tracker remembers of an object; Get calls it when the object is gone.
func (t *Tracker) Forget(key types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.written, key)
}

func (t *Tracker) lookup(key types.NamespacedName) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rv, ok := t.written[key]
	return rv, ok
}

// forgetIfStill forgets key unless a write recorded since the lookup replaced what it found.
func (t *Tracker) forgetIfStill(key types.NamespacedName, written string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.written[key] == written {
		delete(t.written, key)
	}
}
