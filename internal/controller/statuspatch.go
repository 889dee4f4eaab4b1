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
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/pier-dev/pier/internal/controller/ownstatus"
)

// statusPatch is cluster-api's patch.Helper reduced to what pier's reconcilers need: it takes a snapshot of an
// object when a reconcile starts, and at the end writes the object's status, and only its status, when it
// differs from the snapshot. So a reconcile writes its status at most once, and a reconcile that changed nothing
// writes nothing (a status write would wake every watcher of the object, the operator included). The write is a
// merge patch against the snapshot: it carries only what this reconcile changed, so it needs no resourceVersion
// and does not fail on a concurrent change of other fields.
type statusPatch struct {
	client client.Client
	before client.Object
}

// defaultable is a pier object that fills in its own defaults (api/v1alpha1).
type defaultable interface {
	client.Object
	Default()
}

// reconcileWithStatus is the frame of both reconcilers. It reads the object of req into obj, and does nothing but
// call gone (when set) when it is gone or being deleted: owner references let the garbage collector remove the
// children, and nothing outside the cluster needs cleaning up, so there is no finalizer. Otherwise it fills in
// obj's defaults, once, before anything reads the spec and before the status snapshot (so the defaults never
// reach the status patch), runs reconcile, lets record put the outcome on obj's status, and writes the status
// once (statusPatch). record gets the error that stopped reconcile, nil when reconcile finished or the error was
// a conflict, which only means the cache was behind: the retry decides.
func reconcileWithStatus[T defaultable](ctx context.Context, c client.Client, reads statusReads, req ctrl.Request, obj T,
	reconcile func() (ctrl.Result, error), gone func(), record func(failure error)) (result ctrl.Result, err error) {
	if err := reads.statuses.Get(ctx, c, reads.api, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) && gone != nil {
			gone()
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		if gone != nil {
			gone()
		}
		return ctrl.Result{}, nil
	}
	obj.Default()
	patch := newStatusPatch(c, obj)
	defer func() {
		failure := err
		if apierrors.IsConflict(err) {
			failure = nil
		}
		record(failure)
		wrote, patchErr := patch.apply(ctx, obj)
		if patchErr != nil {
			err = errors.Join(err, patchErr)
		}
		if wrote {
			reads.statuses.Wrote(obj)
		}
	}()
	return reconcile()
}

// newStatusPatch takes the snapshot of obj; call it before the reconcile changes obj.
func newStatusPatch(c client.Client, obj client.Object) *statusPatch {
	return &statusPatch{client: c, before: obj.DeepCopyObject().(client.Object)}
}

// apply writes obj's status when it changed since the snapshot, and says whether it wrote it.
func (p *statusPatch) apply(ctx context.Context, obj client.Object) (bool, error) {
	changed, err := statusChanged(p.before, obj)
	if err != nil || !changed {
		return false, err
	}
	if err := p.client.Status().Patch(ctx, obj, client.MergeFrom(p.before)); err != nil {
		return false, fmt.Errorf("writing the status of %s %s: %w", kindOf(p.client, obj), client.ObjectKeyFromObject(obj), err)
	}
	return true, nil
}

// statusReads is how reconcileWithStatus reads the object a status is decided on: from the cache, or from the API
// server while the cache does not show the status this reconciler last wrote (ownstatus). Deciding "unchanged"
// against a cached copy older than that write would leave the API server's status stale.
type statusReads struct {
	statuses *ownstatus.Tracker
	api      client.Reader
}

// statusChanged compares the status of two objects as the API server would see it, in their JSON form (as
// cluster-api does): an empty list and a missing one are the same there, and a patch between them would be empty.
func statusChanged(before, after client.Object) (bool, error) {
	was, err := runtime.DefaultUnstructuredConverter.ToUnstructured(before)
	if err != nil {
		return false, fmt.Errorf("comparing the status of %s: %w", client.ObjectKeyFromObject(before), err)
	}
	is, err := runtime.DefaultUnstructuredConverter.ToUnstructured(after)
	if err != nil {
		return false, fmt.Errorf("comparing the status of %s: %w", client.ObjectKeyFromObject(after), err)
	}
	return !equality.Semantic.DeepEqual(was["status"], is["status"]), nil
}

// kindOf is obj's kind for messages, from the client's scheme: typed objects often arrive without their TypeMeta.
func kindOf(c client.Client, obj client.Object) string {
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return fmt.Sprintf("%T", obj)
	}
	return gvk.Kind
}
