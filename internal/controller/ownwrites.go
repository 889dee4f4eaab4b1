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
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// ownWrites remembers the resourceVersion of a reconciler's last write of each object it writes (its children, the
// endpoint's config Secret above all), so that the watch event of that write does not run the reconciler again:
// it wrote the object as it wants it, and running again finds nothing to do but costs a whole reconcile (for an
// endpoint, a pass over all its users). Any other change of the object (someone else's write, a controller's
// status update, a deletion) has another resourceVersion and passes.
//
// resourceVersions are compared for equality only, as the API asks: each write of an object gets a new one. The
// event of a write can arrive before the write's answer (the watch is often faster), so an event of an object
// with a write in flight waits for that write's answer before it is judged. That holds up only the events of
// this reconciler's watch of the kind, for one API call at most (writeWait).
type ownWrites struct {
	scheme *runtime.Scheme

	mu       sync.Mutex
	last     map[ownKey]string
	inFlight map[ownKey]chan struct{}
}

// writeWait bounds how long an event waits for the answer to a write in flight; past it, the event passes.
const writeWait = 10 * time.Second

type ownKey struct {
	kind schema.GroupVersionKind
	name types.NamespacedName
}

func newOwnWrites(scheme *runtime.Scheme) *ownWrites {
	return &ownWrites{scheme: scheme, last: map[ownKey]string{}, inFlight: map[ownKey]chan struct{}{}}
}

// key is obj's kind and name; ok is false for an object whose kind the scheme does not know.
func (w *ownWrites) key(obj client.Object) (ownKey, bool) {
	gvk, err := apiutil.GVKForObject(obj, w.scheme)
	if err != nil {
		return ownKey{}, false
	}
	// Events of a metadata watch carry the kind's version as the cache asked for it; only group and kind matter.
	gvk.Version = ""
	return ownKey{kind: gvk, name: client.ObjectKeyFromObject(obj)}, true
}

// write runs do, a write of obj, and records the resourceVersion the API server answered it with.
func (w *ownWrites) write(obj client.Object, do func() error) error {
	k, ok := w.key(obj)
	if !ok {
		return do()
	}
	done := make(chan struct{})
	w.mu.Lock()
	w.inFlight[k] = done
	w.mu.Unlock()
	err := do()
	w.mu.Lock()
	if err == nil && obj.GetResourceVersion() != "" {
		w.last[k] = obj.GetResourceVersion()
	}
	delete(w.inFlight, k)
	w.mu.Unlock()
	close(done)
	return err
}

// own reports whether obj is as the reconciler's last write of it left it.
func (w *ownWrites) own(obj client.Object) bool {
	k, ok := w.key(obj)
	if !ok {
		return false
	}
	w.mu.Lock()
	if done := w.inFlight[k]; done != nil {
		w.mu.Unlock()
		select {
		case <-done:
		case <-time.After(writeWait):
		}
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	rv, found := w.last[k]
	return found && rv == obj.GetResourceVersion()
}

func (w *ownWrites) forget(obj client.Object) {
	if k, ok := w.key(obj); ok {
		w.mu.Lock()
		delete(w.last, k)
		w.mu.Unlock()
	}
}

// notOwn passes every event but those of the reconciler's own creates and updates.
func (w *ownWrites) notOwn() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool { return !w.own(e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool { return !w.own(e.ObjectNew) },
		DeleteFunc: func(e event.DeleteEvent) bool {
			w.forget(e.Object)
			return true
		},
		GenericFunc: func(event.GenericEvent) bool { return true },
	}
}

// client is c with every successful create, update and patch recorded.
func (w *ownWrites) client(c client.Client) client.Client {
	return &recordingClient{Client: c, writes: w}
}

type recordingClient struct {
	client.Client
	writes *ownWrites
}

func (c *recordingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	return c.writes.write(obj, func() error { return c.Client.Create(ctx, obj, opts...) })
}

func (c *recordingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	return c.writes.write(obj, func() error { return c.Client.Update(ctx, obj, opts...) })
}

func (c *recordingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	return c.writes.write(obj, func() error { return c.Client.Patch(ctx, obj, patch, opts...) })
}
