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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pier-dev/pier/internal/controller/render"
)

// annotationSpecHash records, on each child, a hash of what the operator rendered for it. A changed hash means
// the TransferEndpoint changed what it wants (including removing a field, which a field-by-field comparison
// against the live object cannot see); an equal hash with a drifted field means someone edited the child by hand.
const annotationSpecHash = "transfer.pier.dev/spec-hash"

// ensure creates desired when it is missing, or updates the live object when it drifted from desired, and
// returns the object as it is now in the API server. It reads through c's cache first and writes nothing when the
// child is in sync, so a reconcile with nothing to do makes no API writes. kind says how to compare and update.
func ensure[T client.Object](ctx context.Context, c client.Client, apiReader client.Reader, desired T, kind child[T]) (T, error) {
	var none T
	live := kind.empty()
	hash, err := specHash(desired)
	if err != nil {
		return none, err
	}
	setAnnotation(desired, annotationSpecHash, hash)

	key := client.ObjectKeyFromObject(desired)
	err = c.Get(ctx, key, live)
	if apierrors.IsNotFound(err) {
		createErr := c.Create(ctx, desired, client.FieldOwner(render.FieldOwner))
		if createErr == nil {
			// Create filled desired in with what the API server stored (defaults, uid, resourceVersion).
			return desired, nil
		}
		if !apierrors.IsAlreadyExists(createErr) {
			return none, fmt.Errorf("creating %s: %w", describe(desired), createErr)
		}
		// The object exists but the cache cannot see it: someone removed the label the cache selects on. Read
		// it from the API server and restore it, if it is the endpoint's.
		err = apiReader.Get(ctx, key, live)
		if err == nil {
			if err := notSomebodyElses(desired, live); err != nil {
				return none, err
			}
		}
	}
	if err != nil {
		return none, fmt.Errorf("reading %s: %w", describe(desired), err)
	}

	if live.GetAnnotations()[annotationSpecHash] == hash && hasMetadata(desired, live) && kind.specInSync(desired, live) {
		return live, nil
	}
	kind.updateSpec(desired, live)
	mergeMetadata(desired, live)
	if err := c.Update(ctx, live, client.FieldOwner(render.FieldOwner)); err != nil {
		return none, fmt.Errorf("updating %s: %w", describe(desired), err)
	}
	return live, nil
}

// notSomebodyElses refuses to take over an object of a child's name that the endpoint does not control: one
// somebody made by hand (a Service or claim of that name) would otherwise get the endpoint's owner reference,
// have its spec overwritten, and be deleted by the garbage collector with the endpoint.
func notSomebodyElses(desired, live client.Object) error {
	ref := metav1.GetControllerOfNoCopy(desired)
	if ref == nil || hasOwnerReference(live, *ref) {
		return nil
	}
	return fmt.Errorf("%s exists but was not made by the operator for %s %s, so the operator does not take it over "+
		"(it would overwrite it, and delete it with the %s): delete or rename it, and the operator creates its own",
		describe(live), ref.Kind, ref.Name, ref.Kind)
}

// remove deletes obj when it exists and this endpoint controls it; a child that is no longer wanted (a
// PodDisruptionBudget after scaling to one replica) must not linger.
func remove(ctx context.Context, c client.Client, obj client.Object, owner metav1.Object) error {
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(obj, owner) {
		return nil
	}
	if err := c.Delete(ctx, obj, client.Preconditions{UID: new(obj.GetUID())}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", describe(obj), err)
	}
	return nil
}

// specHash hashes the rendered object: its labels, annotations and every other field, without the hash
// annotation itself.
func specHash(obj client.Object) (string, error) {
	annotations := maps.Clone(obj.GetAnnotations())
	delete(annotations, annotationSpecHash)
	saved := obj.GetAnnotations()
	obj.SetAnnotations(annotations)
	data, err := json.Marshal(obj)
	obj.SetAnnotations(saved)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", describe(obj), err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8]), nil
}

// hasMetadata reports whether live carries every label, annotation and the controller reference of desired.
func hasMetadata(desired, live client.Object) bool {
	for k, v := range desired.GetLabels() {
		if live.GetLabels()[k] != v {
			return false
		}
	}
	for k, v := range desired.GetAnnotations() {
		if live.GetAnnotations()[k] != v {
			return false
		}
	}
	for _, ref := range desired.GetOwnerReferences() {
		if !hasOwnerReference(live, ref) {
			return false
		}
	}
	return true
}

// mergeMetadata adds desired's labels, annotations and owner references to live, keeping any others (added by
// users or other controllers).
func mergeMetadata(desired, live client.Object) {
	labels := live.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, desired.GetLabels())
	live.SetLabels(labels)

	annotations := live.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	maps.Copy(annotations, desired.GetAnnotations())
	live.SetAnnotations(annotations)

	refs := live.GetOwnerReferences()
	for _, ref := range desired.GetOwnerReferences() {
		if !hasOwnerReference(live, ref) {
			refs = append(refs, ref)
		}
	}
	live.SetOwnerReferences(refs)
}

func hasOwnerReference(obj client.Object, ref metav1.OwnerReference) bool {
	for _, have := range obj.GetOwnerReferences() {
		if have.UID == ref.UID && have.Kind == ref.Kind && have.APIVersion == ref.APIVersion &&
			ptrEqual(have.Controller, ref.Controller) {
			return true
		}
	}
	return false
}

func setAnnotation(obj client.Object, key, value string) {
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[key] = value
	obj.SetAnnotations(annotations)
}

func describe(obj client.Object) string {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		kind = fmt.Sprintf("%T", obj)
	}
	return fmt.Sprintf("%s %s/%s", kind, obj.GetNamespace(), obj.GetName())
}

func ptrEqual[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
