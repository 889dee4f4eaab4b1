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

package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
)

// storedEndpoint is an SFTP endpoint whose files live on a claim the operator makes from a template, with the
// retention policy given ("" for the default).
func storedEndpoint(namespace, name string, policy transferv1alpha1.RetentionPolicyType, size string) *transferv1alpha1.TransferEndpoint {
	return &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: transferv1alpha1.TransferEndpointSpec{
			SFTP: &transferv1alpha1.SFTPSpec{},
			Storage: transferv1alpha1.StorageSpec{VolumeClaimTemplate: &transferv1alpha1.VolumeClaimTemplate{
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: mustQuantity(size)}},
				},
			}},
			RetentionPolicy: transferv1alpha1.RetentionPolicy{Storage: policy, HostKeys: policy},
		},
	}
}

// served waits until the endpoint serves generated host keys and has its claim and Deployment, and returns them.
func served(t *testing.T, te *transferv1alpha1.TransferEndpoint) (*corev1.Secret, *corev1.PersistentVolumeClaim) {
	t.Helper()
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	names := render.NamesFor(te)
	secret, claim := &corev1.Secret{}, &corev1.PersistentVolumeClaim{}
	get(t, te.Namespace, names.HostKeysSecret, secret)
	get(t, te.Namespace, names.ClaimName, claim)
	mountsClaim(t, te, claim.Name)
	return secret, claim
}

// mountsClaim waits until the endpoint's Deployment mounts the claim.
func mountsClaim(t *testing.T, te *transferv1alpha1.TransferEndpoint, claimName string) {
	t.Helper()
	eventually(t, func() error {
		dep := &appsv1.Deployment{}
		if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: te.Namespace, Name: te.Name}, dep); err != nil {
			return err
		}
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claimName {
				return nil
			}
		}
		return fmt.Errorf("the Deployment does not mount claim %s", claimName)
	})
}

// heldBy checks that obj is marked as the endpoint's (the uid annotation) and that it is owned by the endpoint
// exactly when the policy deletes it with the endpoint.
func heldBy(obj client.Object, te *transferv1alpha1.TransferEndpoint, policy transferv1alpha1.RetentionPolicyType) error {
	if got := obj.GetAnnotations()[render.AnnotationEndpointUID]; got != string(te.UID) {
		return fmt.Errorf("%s: %s = %q, want the endpoint's uid %s", obj.GetName(), render.AnnotationEndpointUID, got, te.UID)
	}
	if owned := metav1.IsControlledBy(obj, te); owned != (policy == transferv1alpha1.RetentionDelete) {
		return fmt.Errorf("%s: controlled by the endpoint: %v, with retention policy %q (owners %v)", obj.GetName(), owned, policy, obj.GetOwnerReferences())
	}
	if policy != transferv1alpha1.RetentionDelete && len(obj.GetOwnerReferences()) > 0 {
		return fmt.Errorf("%s: kept objects must have no owner, so the garbage collector leaves them: %v", obj.GetName(), obj.GetOwnerReferences())
	}
	return nil
}

// deleteEndpoint deletes the endpoint and waits until the garbage collector has deleted its Deployment, so that
// whatever it would delete with the endpoint is gone by then too.
func deleteEndpoint(t *testing.T, te *transferv1alpha1.TransferEndpoint) {
	t.Helper()
	if err := k8s.Delete(context.Background(), te); err != nil {
		t.Fatal(err)
	}
	gone(t, te.DeepCopy())
	gone(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: te.Namespace, Name: te.Name}})
	gone(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: te.Namespace, Name: render.NamesFor(te).ConfigSecret}})
}

// objectEvent waits for an event of the reason about the object of the kind and name.
func objectEvent(t *testing.T, namespace, kind, name, reason string) eventsv1.Event {
	t.Helper()
	var found eventsv1.Event
	eventually(t, func() error {
		var list eventsv1.EventList
		if err := k8s.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Regarding.Kind == kind && e.Regarding.Name == name && e.Reason == reason {
				found = e
				return nil
			}
		}
		return fmt.Errorf("no %s event about %s %s", reason, kind, name)
	})
	return found
}

// The default keeps the files and the host keys when the endpoint is deleted; the endpoint re-created under the
// same name takes both over, serves the same keys, mounts the same claim, and says so.
func TestRetainedDataIsReadopted(t *testing.T) {
	ns := env.Namespace(t)
	te := storedEndpoint(ns, "keeper", "", "1Gi")
	create(t, te)
	secret, claim := served(t, te)
	for _, obj := range []client.Object{secret, claim} {
		if err := heldBy(obj, te, transferv1alpha1.RetentionRetain); err != nil {
			t.Error(err)
		}
	}
	keys := fingerprints(te.Status.HostKeys)
	wantKept := []string{"PersistentVolumeClaim/" + claim.Name, "Secret/" + secret.Name}
	if got := te.Status.Retention; got == nil || !slices.Equal(got.RetainedOnDelete, wantKept) {
		t.Errorf("status.retention = %+v, want retainedOnDelete %v", got, wantKept)
	}
	firstUID := te.UID

	deleteEndpoint(t, te)
	keptSecret, keptClaim := checkKept(t, te, secret, claim)

	again := storedEndpoint(ns, "keeper", "", "1Gi")
	create(t, again)
	secret, claim = served(t, again)
	if secret.UID != keptSecret.UID || claim.UID != keptClaim.UID {
		t.Errorf("the re-created endpoint made new objects instead of taking over the kept ones")
	}
	if got := fingerprints(again.Status.HostKeys); !slices.Equal(got, keys) {
		t.Errorf("the re-created endpoint serves %v, want the kept keys %v", got, keys)
	}
	cfg, _ := servedConfig(t, again)
	if len(cfg.SFTP.HostKeyFiles) != len(keys) {
		t.Errorf("the config names %v, want the %d kept keys", cfg.SFTP.HostKeyFiles, len(keys))
	}
	checkReadopted(t, again, firstUID, secret, claim)
}

// checkKept checks, after the endpoint's deletion, that its Secret and claim are still there, the same objects,
// marked as kept with a Retained event each, and returns them.
func checkKept(t *testing.T, te *transferv1alpha1.TransferEndpoint, secret *corev1.Secret, claim *corev1.PersistentVolumeClaim) (*corev1.Secret, *corev1.PersistentVolumeClaim) {
	t.Helper()
	waitForReconciles(t)
	keptSecret, keptClaim := &corev1.Secret{}, &corev1.PersistentVolumeClaim{}
	get(t, te.Namespace, secret.Name, keptSecret)
	get(t, te.Namespace, claim.Name, keptClaim)
	if keptSecret.UID != secret.UID || keptClaim.UID != claim.UID || !keptClaim.DeletionTimestamp.IsZero() {
		t.Fatalf("the kept objects were replaced or are being deleted")
	}
	for kind, name := range map[string]string{"Secret": secret.Name, "PersistentVolumeClaim": claim.Name} {
		e := objectEvent(t, te.Namespace, kind, name, "Retained")
		if err := mentionsAll(e.Note, []string{te.Name, string(te.UID)}); err != nil {
			t.Errorf("the Retained event of %s: %v", name, err)
		}
	}
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(keptSecret), keptSecret); err != nil {
			return err
		}
		if _, ok := keptSecret.Annotations["transfer.pier.dev/retained-at"]; !ok {
			return fmt.Errorf("the kept Secret was not marked as kept: %v", keptSecret.Annotations)
		}
		return nil
	})
	return keptSecret, keptClaim
}

// checkReadopted checks that the endpoint holds the Secret and claim it took over from the endpoint of uid
// previous, and says so in its status and an event.
func checkReadopted(t *testing.T, te *transferv1alpha1.TransferEndpoint, previous types.UID, secret *corev1.Secret, claim *corev1.PersistentVolumeClaim) {
	t.Helper()
	eventually(t, func() error {
		for _, obj := range []client.Object{secret, claim} {
			if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
				return err
			}
			if err := heldBy(obj, te, transferv1alpha1.RetentionRetain); err != nil {
				return err
			}
		}
		return nil
	})
	if _, ok := secret.Annotations["transfer.pier.dev/retained-at"]; ok {
		t.Errorf("the re-adopted Secret is still marked as kept: %v", secret.Annotations)
	}
	readopted := te.Status.Retention
	if readopted == nil || len(readopted.Readopted) != 2 {
		t.Fatalf("status.retention = %+v, want the claim and the Secret re-adopted", readopted)
	}
	for _, r := range readopted.Readopted {
		if r.PreviousOwnerUID != string(previous) || r.ReadoptedAt.IsZero() {
			t.Errorf("status.retention.readopted: %+v, want previousOwnerUID %s and a time", r, previous)
		}
	}
	e := event(t, te, corev1.EventTypeNormal, "Readopted")
	if err := mentionsAll(e.Note, []string{secret.Name, claim.Name, string(previous)}); err != nil {
		t.Errorf("the Readopted event: %v", err)
	}
}

// Re-created with another spec, the endpoint keeps the data it takes over and says what differs: the claim is
// not resized, the keys of a type no longer listed are still served.
func TestReadoptedWithAnotherSpec(t *testing.T) {
	ns := env.Namespace(t)
	te := storedEndpoint(ns, "changed", "", "1Gi")
	create(t, te)
	_, claim := served(t, te)
	keys := fingerprints(te.Status.HostKeys)
	deleteEndpoint(t, te)

	again := storedEndpoint(ns, "changed", "", "5Gi")
	again.Spec.SFTP.GeneratedHostKeyTypes = []transferv1alpha1.HostKeyType{transferv1alpha1.HostKeyRSA}
	create(t, again)
	_, kept := served(t, again)
	if kept.UID != claim.UID || kept.Spec.Resources.Requests.Storage().String() != "1Gi" {
		t.Errorf("claim %s (uid %s, %s), want the kept one of 1Gi", kept.Name, kept.UID, kept.Spec.Resources.Requests.Storage())
	}
	e := event(t, again, corev1.EventTypeWarning, "RetainedClaimDiffers")
	if err := mentionsAll(e.Note, []string{kept.Name, "1Gi", "5Gi"}); err != nil {
		t.Errorf("the RetainedClaimDiffers event: %v", err)
	}
	if got := fingerprints(again.Status.HostKeys); !slices.Equal(got, keys) {
		t.Errorf("serving %v, want the kept keys %v", got, keys)
	}
	c := condition(t, again, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	if !strings.Contains(c.Message, "rsa") {
		t.Errorf("HostKeysReady should say that rsa comes with the next keys asked for: %s", c.Message)
	}
}

// With Delete, the garbage collector deletes the claim and the keys with the endpoint; an endpoint re-created
// under the name gets new ones. Switching the policy of a live endpoint adds or removes the owner reference.
func TestDeletePolicyDeletes(t *testing.T) {
	ns := env.Namespace(t)
	te := storedEndpoint(ns, "tidy", transferv1alpha1.RetentionDelete, "1Gi")
	create(t, te)
	secret, claim := served(t, te)
	for _, obj := range []client.Object{secret, claim} {
		if err := heldBy(obj, te, transferv1alpha1.RetentionDelete); err != nil {
			t.Error(err)
		}
	}
	if got := te.Status.Retention; got != nil && len(got.RetainedOnDelete) > 0 {
		t.Errorf("status.retention.retainedOnDelete = %v, want none", got.RetainedOnDelete)
	}

	// Retain, then Delete again: the owner reference goes and comes back.
	for _, policy := range []transferv1alpha1.RetentionPolicyType{transferv1alpha1.RetentionRetain, transferv1alpha1.RetentionDelete} {
		update(t, te, func(te *transferv1alpha1.TransferEndpoint) {
			te.Spec.RetentionPolicy = transferv1alpha1.RetentionPolicy{Storage: policy, HostKeys: policy}
		})
		eventually(t, func() error {
			for _, obj := range []client.Object{secret, claim} {
				if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
					return err
				}
				if err := heldBy(obj, te, policy); err != nil {
					return err
				}
			}
			return nil
		})
	}
	keys := fingerprints(te.Status.HostKeys)

	deleteEndpoint(t, te)
	gone(t, secret)
	// The claim is gone once the pvc-protection controller sees no pod using it (envtest runs none).
	gone(t, claim)

	again := storedEndpoint(ns, "tidy", transferv1alpha1.RetentionDelete, "1Gi")
	create(t, again)
	newSecret, newClaim := served(t, again)
	if newSecret.UID == secret.UID || newClaim.UID == claim.UID {
		t.Error("an object deleted with the endpoint came back")
	}
	if got := fingerprints(again.Status.HostKeys); slices.ContainsFunc(got, func(fp string) bool { return slices.Contains(keys, fp) }) {
		t.Errorf("the re-created endpoint serves a deleted key: %v (deleted: %v)", got, keys)
	}
	if r := again.Status.Retention; r != nil && len(r.Readopted) > 0 {
		t.Errorf("status.retention.readopted = %v, want nothing", r.Readopted)
	}
}

// Objects of the names the endpoint needs that the operator did not keep for it are never taken over: a Secret
// written by hand, even with the operator's labels, and a claim somebody made. The endpoint says so, and runs no
// pods on the claim.
func TestHandMadeObjectsAreNotAdopted(t *testing.T) {
	ns := env.Namespace(t)
	keyed := storedEndpoint(ns, "keyed", "", "1Gi")
	handSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: render.NamesFor(keyed).HostKeysSecret,
		Labels: map[string]string{render.LabelManagedBy: render.ManagedByValue, render.LabelEndpoint: keyed.Name}},
		Data: map[string][]byte{"ssh_host_ed25519_key": hostKeyPEM(t)}}
	create(t, handSecret)
	claimed := storedEndpoint(ns, "claimed", "", "1Gi")
	handClaim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: render.NamesFor(claimed).ClaimName},
		Spec: *claimed.Spec.Storage.VolumeClaimTemplate.Spec.DeepCopy()}
	create(t, handClaim)
	create(t, keyed)
	create(t, claimed)

	c := condition(t, keyed, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, "HostKeySecretConflict")
	if !strings.Contains(c.Message, handSecret.Name) {
		t.Errorf("HostKeysReady does not name the Secret: %s", c.Message)
	}
	condition(t, claimed, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	e := event(t, claimed, corev1.EventTypeWarning, "NotAdopted")
	if err := mentionsAll(e.Note, []string{handClaim.Name, "spec.storage.persistentVolumeClaim"}); err != nil {
		t.Errorf("the NotAdopted event: %v", err)
	}
	ready := condition(t, claimed, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "NotAdopted")
	if !strings.Contains(ready.Message, handClaim.Name) {
		t.Errorf("Ready does not name the claim: %s", ready.Message)
	}
	waitForReconciles(t)
	for _, obj := range []client.Object{handSecret, handClaim} {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		if len(obj.GetOwnerReferences()) > 0 || obj.GetAnnotations()[render.AnnotationEndpointUID] != "" {
			t.Errorf("%s was taken over: owners %v, annotations %v", obj.GetName(), obj.GetOwnerReferences(), obj.GetAnnotations())
		}
	}
	err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: claimed.Name}, &appsv1.Deployment{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("a Deployment was made that would mount the hand-made claim: %v", err)
	}

	// Once the claim is out of the way, the endpoint makes its own.
	if err := k8s.Delete(context.Background(), handClaim); err != nil {
		t.Fatal(err)
	}
	gone(t, handClaim.DeepCopy())
	served(t, claimed)
}

// The same holds for every other child: a Service somebody made under the endpoint's name is neither overwritten
// nor given the endpoint as owner (the garbage collector would delete it with the endpoint).
func TestHandMadeServiceIsNotTakenOver(t *testing.T) {
	ns := env.Namespace(t)
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"},
		Spec:       transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}},
	}
	hand := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: te.Name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "web", Port: 8080}}}}
	create(t, hand)
	create(t, te)
	falseConditionSays(t, te, transferv1alpha1.ConditionReady, "ReconcileFailed", "was not made by the operator")
	waitForReconciles(t)
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(hand), hand); err != nil {
		t.Fatal(err)
	}
	if len(hand.OwnerReferences) > 0 || len(hand.Spec.Ports) != 1 || hand.Spec.Ports[0].Name != "web" {
		t.Errorf("the hand-made Service was taken over: owners %v, ports %v", hand.OwnerReferences, hand.Spec.Ports)
	}
}
