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
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
)

// How retention works (spec.retentionPolicy). An object that may outlive its endpoint (the claim of a
// volumeClaimTemplate, the generated host keys) carries the labels LabelManagedBy and LabelEndpoint and the
// annotation render.AnnotationEndpointUID. With Retain it has no owner reference at all, so the garbage collector
// never deletes it, whether or not the operator runs; with Delete the endpoint is its controller and the garbage
// collector deletes it with the endpoint. No finalizer is involved, so nothing the operator does or fails to do
// can hold up the deletion of an endpoint.
//
// An endpoint created later under the same name finds the object by name, and takes it over only when the
// operator's markers say it was kept for an endpoint of that name (keptEarlier): a Secret somebody wrote under
// the name, without them, is never used, because whoever wrote it may hold the private keys. The markers do not
// stop someone who may write Secrets in the namespace from forging them; such a person can already edit the
// endpoint's own Secrets, so they guard against accidents (a name clash), not against the namespace's admins.

// annotationRetainedAt marks an object whose endpoint was deleted while it was kept: set once, with the Retained
// event, and removed when an endpoint takes the object over.
const annotationRetainedAt = "transfer.pier.dev/retained-at"

// recheckBlocked is how soon an endpoint blocked by an object it cannot take over looks again: that object may
// have no labels the operator's watches see, so its deletion would not wake the endpoint.
const recheckBlocked = 10 * time.Second

// holding is how an object of the name an endpoint needs relates to the endpoint.
type holding int

const (
	// heldHere: the endpoint made it, or took it over already.
	heldHere holding = iota
	// keptEarlier: the operator kept it when an earlier endpoint of the same name was deleted.
	keptEarlier
	// beingDeleted: it is going away (with an earlier endpoint of the same name, under Delete).
	beingDeleted
	// foreign: somebody else made it.
	foreign
)

// holdingOf classifies obj for the endpoint; for keptEarlier it also returns the uid of the endpoint it was kept
// from.
func holdingOf(obj metav1.Object, te *transferv1alpha1.TransferEndpoint) (holding, string) {
	if !obj.GetDeletionTimestamp().IsZero() {
		return beingDeleted, ""
	}
	if metav1.IsControlledBy(obj, te) {
		return heldHere, ""
	}
	labels, uid := obj.GetLabels(), obj.GetAnnotations()[render.AnnotationEndpointUID]
	ours := labels[render.LabelManagedBy] == render.ManagedByValue && labels[render.LabelEndpoint] == te.Name && uid != ""
	if ref := metav1.GetControllerOf(obj); ref != nil {
		if ours && ref.Kind == "TransferEndpoint" && ref.Name == te.Name && ref.UID != te.UID {
			// An earlier endpoint's, under Delete: the garbage collector is about to delete it.
			return beingDeleted, ""
		}
		return foreign, ""
	}
	switch {
	case !ours:
		return foreign, ""
	case uid == string(te.UID):
		return heldHere, ""
	default:
		return keptEarlier, uid
	}
}

// takeOver brings live, an object of the name the endpoint needs, under the endpoint as desired describes it
// (render's labels, uid annotation, and an owner reference only under Delete), and reports whether the endpoint
// may use it. A kept object is re-adopted and recorded; one being deleted or made by somebody else is left alone
// and reported by the caller, which knows what it is for.
func (r *EndpointReconciler) takeOver(ctx context.Context, s *endpointState, desired, live client.Object) (holding, error) {
	h, previous := holdingOf(live, s.te)
	if h == beingDeleted || h == foreign {
		s.requeueAt(recheckBlocked)
		return h, nil
	}
	if inStep(desired, live, s.te) {
		return h, nil
	}
	// The policy changed to Retain (or the object predates retention): the endpoint's owner reference goes, so
	// that the garbage collector keeps the object.
	live.SetOwnerReferences(slices.DeleteFunc(live.GetOwnerReferences(), func(ref metav1.OwnerReference) bool {
		return ref.UID == s.te.UID && !hasOwnerReference(desired, ref)
	}))
	annotations := live.GetAnnotations()
	delete(annotations, annotationRetainedAt)
	live.SetAnnotations(annotations)
	mergeMetadata(desired, live)
	if err := r.Update(ctx, live, client.FieldOwner(render.FieldOwner)); err != nil {
		return h, fmt.Errorf("taking over %s: %w", describe(live), err)
	}
	if h == keptEarlier {
		s.readopted = append(s.readopted, transferv1alpha1.ReadoptedObject{Kind: retainedKind(live), Name: live.GetName(),
			PreviousOwnerUID: previous, ReadoptedAt: metav1.NewTime(r.now())})
	}
	return h, nil
}

// retainedKind names the kind of the objects retention applies to.
func retainedKind(obj client.Object) string {
	if meta, ok := obj.(*metav1.PartialObjectMetadata); ok {
		return meta.Kind
	}
	if _, ok := obj.(*corev1.PersistentVolumeClaim); ok {
		return "PersistentVolumeClaim"
	}
	return "Secret"
}

// reconcileStorage creates the claim of a volumeClaimTemplate, or takes over the one kept for the endpoint, and
// brings its owner reference in line with spec.retentionPolicy.storage. The claim's spec is never changed after
// it is made, as a StatefulSet leaves its claims: most of it is immutable, and the files matter more than the
// template. A claim the endpoint may not use holds the Deployment back, so no pod mounts it.
func (r *EndpointReconciler) reconcileStorage(ctx context.Context, s *endpointState) error {
	desired := render.PersistentVolumeClaim(s.te)
	if desired == nil {
		return nil
	}
	live := &corev1.PersistentVolumeClaim{}
	key := client.ObjectKeyFromObject(desired)
	err := r.Get(ctx, key, live)
	if apierrors.IsNotFound(err) {
		// The cache holds only labelled claims; one made by hand is visible only to the API server.
		err = r.APIReader.Get(ctx, key, live)
	}
	if apierrors.IsNotFound(err) {
		_, err = ensure(ctx, r.Client, r.APIReader, desired, persistentVolumeClaimKind)
		return err
	}
	if err != nil {
		return fmt.Errorf("reading PersistentVolumeClaim %s: %w", key.Name, err)
	}
	h, err := r.takeOver(ctx, s, desired, live)
	if err != nil {
		return err
	}
	switch h {
	case beingDeleted:
		s.storageProblem = fmt.Sprintf("PersistentVolumeClaim %s is being deleted (with an earlier endpoint of this name, "+
			"whose spec.retentionPolicy.storage was Delete); the operator makes a new one once it is gone", key.Name)
	case foreign:
		s.storageProblem = fmt.Sprintf("PersistentVolumeClaim %s exists but was not made or kept by the operator for this "+
			"endpoint, so its files are not served: to serve them, name it in spec.storage.persistentVolumeClaim "+
			"instead of volumeClaimTemplate; otherwise delete or rename it", key.Name)
	case keptEarlier:
		r.claimDiffers(s, desired, live)
	}
	if s.storageProblem != "" {
		r.warn(s.te, transferv1alpha1.ReasonNotAdopted, s.storageProblem)
	}
	return nil
}

// claimDiffers warns when a re-adopted claim is not what the endpoint's template asks for: the claim is kept as
// it is, because changing it could lose the files it holds.
func (r *EndpointReconciler) claimDiffers(s *endpointState, desired, live *corev1.PersistentVolumeClaim) {
	var diffs []string
	want, have := desired.Spec.Resources.Requests.Storage(), live.Spec.Resources.Requests.Storage()
	if want.Cmp(*have) != 0 {
		diffs = append(diffs, fmt.Sprintf("it requests %s, the template %s (expand it with kubectl edit if its "+
			"StorageClass allows expansion)", have, want))
	}
	if c := desired.Spec.StorageClassName; c != nil && !ptrEqual(c, live.Spec.StorageClassName) {
		diffs = append(diffs, fmt.Sprintf("its storageClassName is %q, the template's %q", deref(live.Spec.StorageClassName), *c))
	}
	if m := desired.Spec.AccessModes; len(m) > 0 && !slices.Equal(m, live.Spec.AccessModes) {
		diffs = append(diffs, fmt.Sprintf("its accessModes are %v, the template's %v", live.Spec.AccessModes, m))
	}
	if len(diffs) == 0 {
		return
	}
	r.warn(s.te, transferv1alpha1.ReasonRetainedClaimDiffers, fmt.Sprintf("the kept PersistentVolumeClaim %s, taken over with "+
		"its files, differs from spec.storage.volumeClaimTemplate, and the operator does not change it: %s. To start "+
		"from the template instead, delete the endpoint and the claim (its files go with it), then create the endpoint again",
		live.Name, strings.Join(diffs, "; ")))
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// retainedOnDelete lists what outlives the endpoint, for status.retention.
func retainedOnDelete(s *endpointState) []string {
	var out []string
	if s.names.OwnedClaim && render.Retains(s.te.Spec.RetentionPolicy.Storage) {
		out = append(out, "PersistentVolumeClaim/"+s.names.ClaimName)
	}
	if s.names.GeneratedHostKeys && render.Retains(s.te.Spec.RetentionPolicy.HostKeys) {
		out = append(out, "Secret/"+s.names.HostKeysSecret)
	}
	return out
}

// writeRetention adds status.retention and, for objects taken over in this reconcile, an event. writeStatus
// calls it.
func (r *EndpointReconciler) writeRetention(s *endpointState, st *transferv1alpha1.TransferEndpointStatus) {
	kept := retainedOnDelete(s)
	var readopted []transferv1alpha1.ReadoptedObject
	if st.Retention != nil {
		readopted = st.Retention.Readopted
	}
	if len(s.readopted) > 0 {
		readopted = append(slices.Clone(s.readopted), readopted...)
		readopted = readopted[:min(len(readopted), 8)]
		parts := make([]string, 0, len(s.readopted))
		for _, o := range s.readopted {
			parts = append(parts, fmt.Sprintf("%s %s (kept from the endpoint of uid %s)", o.Kind, o.Name, o.PreviousOwnerUID))
		}
		r.note(s.te, transferv1alpha1.ReasonReadopted, fmt.Sprintf("took over what an earlier endpoint of this name "+
			"left: %s; its files and host keys are served as they were", strings.Join(parts, ", ")))
	}
	if len(kept) == 0 && len(readopted) == 0 {
		st.Retention = nil
		return
	}
	st.Retention = &transferv1alpha1.RetentionStatus{RetainedOnDelete: kept, Readopted: readopted}
}

// reportRetained runs when an endpoint is gone: each object kept for it gets an event and the retained-at
// annotation, once. The endpoint's spec is gone too, so the objects are found by the names an endpoint of this
// name gives them and told apart by the operator's markers.
func (r *EndpointReconciler) reportRetained(ctx context.Context, endpoint types.NamespacedName) {
	te := &transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: endpoint.Namespace, Name: endpoint.Name}}
	te.Spec.SFTP = &transferv1alpha1.SFTPSpec{}
	te.Spec.Storage.VolumeClaimTemplate = &transferv1alpha1.VolumeClaimTemplate{}
	names := render.NamesFor(te)
	candidates := []struct {
		obj    client.Object
		policy string
	}{
		{&corev1.PersistentVolumeClaim{}, "spec.retentionPolicy.storage"},
		{&corev1.Secret{}, "spec.retentionPolicy.hostKeys"},
	}
	for i, name := range []string{names.ClaimName, names.HostKeysSecret} {
		obj := candidates[i].obj
		key := types.NamespacedName{Namespace: endpoint.Namespace, Name: name}
		// The metadata first: most of the time there is nothing to mark, and a Secret's keys need not be read.
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(retainedKind(obj)))
		if err := r.APIReader.Get(ctx, key, meta); err != nil {
			continue // not there (or unreadable): nothing was kept under this name
		}
		h, uid := holdingOf(meta, te)
		if h != keptEarlier || meta.GetAnnotations()[annotationRetainedAt] != "" {
			continue
		}
		if err := r.APIReader.Get(ctx, key, obj); err != nil {
			continue
		}
		setAnnotation(obj, annotationRetainedAt, r.now().UTC().Format(time.RFC3339))
		if err := r.Update(ctx, obj, client.FieldOwner(render.FieldOwner)); err != nil {
			logf.FromContext(ctx).Info("could not mark a kept object", "object", describe(obj), "error", err.Error())
			continue
		}
		msg := fmt.Sprintf("kept after TransferEndpoint %s (uid %s) was deleted, as its %s (Retain) asked; a "+
			"TransferEndpoint created under the same name in this namespace takes it over. Delete it when it is no "+
			"longer needed", endpoint.Name, uid, candidates[i].policy)
		recordEvent(r.Recorder, obj, corev1.EventTypeNormal, transferv1alpha1.ReasonRetained, msg)
	}
}

// inStep reports whether live is held by the endpoint with the metadata desired gives it, so taking it over
// would write nothing.
func inStep(desired, live client.Object, te *transferv1alpha1.TransferEndpoint) bool {
	if h, _ := holdingOf(live, te); h != heldHere || !hasMetadata(desired, live) {
		return false
	}
	return !slices.ContainsFunc(live.GetOwnerReferences(), func(ref metav1.OwnerReference) bool {
		return ref.UID == te.UID && !hasOwnerReference(desired, ref)
	})
}

// adoptRequests makes a re-created endpoint's host-key requests (annotations it may carry from a GitOps
// repository, where they asked for keys long ago) count as handled when it takes over the kept keys: a request
// is acted on once, and taking over a kept Secret must not replace the keys partners pinned.
func adoptRequests(te *transferv1alpha1.TransferEndpoint) {
	if request, pending := regenerationRequest(te); pending {
		te.Status.LastHandledHostKeyRegeneration = request
	}
	if request, pending := additionRequest(te); pending {
		te.Status.LastHandledHostKeyAddition = request
	}
}

// endpointKeeping maps an object kept under spec.retentionPolicy (no owner; the operator's labels name the
// endpoint) to that endpoint, which the watches of owned children would not wake: a live endpoint restores what
// was changed, a deleted one marks what was kept (reportRetained).
func endpointKeeping(_ context.Context, o client.Object) []reconcile.Request {
	labels := o.GetLabels()
	if metav1.GetControllerOf(o) != nil || labels[render.LabelManagedBy] != render.ManagedByValue ||
		labels[render.LabelEndpoint] == "" || o.GetAnnotations()[render.AnnotationEndpointUID] == "" {
		return nil
	}
	return []reconcile.Request{request(o.GetNamespace(), labels[render.LabelEndpoint])}
}

// takeOverHostKeys takes the generated host-key Secret over for the endpoint (takeOver), and reports whether its
// keys may be used; when not, HostKeysReady says why.
func (r *EndpointReconciler) takeOverHostKeys(ctx context.Context, s *endpointState, desired, secret *corev1.Secret) (bool, error) {
	h, err := r.takeOver(ctx, s, desired, secret)
	switch {
	case err != nil:
		return false, err
	case h == beingDeleted:
		return false, r.hostKeySecretConflict(ctx, s, fmt.Sprintf("Secret %s, where this endpoint's generated host keys "+
			"belong, is being deleted with an earlier endpoint of this name (its spec.retentionPolicy.hostKeys was "+
			"Delete); new keys are generated once it is gone", s.names.HostKeysSecret))
	case h == foreign:
		return false, r.hostKeySecretConflict(ctx, s, fmt.Sprintf("Secret %s, where this endpoint's generated host keys "+
			"belong, exists but was not made by this endpoint, nor kept for it by the operator, so its keys are not "+
			"used (whoever made it could pose as the server): delete it and the operator generates keys, or name "+
			"your own Secret in spec.sftp.hostKeys.secretRef", s.names.HostKeysSecret))
	case h == keptEarlier:
		adoptRequests(s.te)
	}
	return true, nil
}
