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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// keysEndpoint is an SFTP-only endpoint with generated host keys, created and waited for until its keys are
// served (HostKeysReady=True with the fingerprints of the default types in status).
func keysEndpoint(t *testing.T, namespace, name string) *transferv1alpha1.TransferEndpoint {
	t.Helper()
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}},
	}
	create(t, te)
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	if len(te.Status.HostKeys) != len(transferv1alpha1.DefaultGeneratedHostKeyTypes) {
		t.Fatalf("status.hostKeys = %v, want %d keys", te.Status.HostKeys, len(transferv1alpha1.DefaultGeneratedHostKeyTypes))
	}
	return te
}

func fingerprints(keys []transferv1alpha1.HostKeyStatus) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.Fingerprint)
	}
	slices.Sort(out)
	return out
}

// event waits for an event of the type and reason about the endpoint, and returns it.
func event(t *testing.T, te *transferv1alpha1.TransferEndpoint, eventType, reason string) eventsv1.Event {
	t.Helper()
	var found eventsv1.Event
	eventually(t, func() error {
		events := endpointEvents(t, te)
		for _, e := range events {
			if e.Type == eventType && e.Reason == reason {
				found = e
				return nil
			}
		}
		return fmt.Errorf("no %s %s event for %s among %d events", eventType, reason, te.Name, len(events))
	})
	return found
}

// endpointEvents are the events about the endpoint so far.
func endpointEvents(t *testing.T, te *transferv1alpha1.TransferEndpoint) []eventsv1.Event {
	t.Helper()
	var list eventsv1.EventList
	if err := k8s.List(context.Background(), &list, client.InNamespace(te.Namespace)); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == te.Name && e.Regarding.Kind == "TransferEndpoint" {
			out = append(out, e)
		}
	}
	return out
}

// noSecret checks that the Secret does not exist, after the controllers had every chance to create it.
func noSecret(t *testing.T, namespace, name string) {
	t.Helper()
	waitForReconciles(t)
	err := k8s.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: name}, &corev1.Secret{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("Secret %s: err = %v, want NotFound", name, err)
	}
}

func mentionsAll(text string, words []string) error {
	for _, w := range words {
		if !strings.Contains(text, w) {
			return fmt.Errorf("%q does not mention %s", text, w)
		}
	}
	return nil
}

// annotate sets one annotation of the endpoint with a merge patch, as kubectl annotate --overwrite does.
func annotate(t *testing.T, te *transferv1alpha1.TransferEndpoint, key, value string) {
	t.Helper()
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := k8s.Patch(context.Background(), te, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatalf("annotating %s: %v", te.Name, err)
	}
}

// regenerate asks for new host keys with value and waits until the operator has handled it.
func regenerate(t *testing.T, te *transferv1alpha1.TransferEndpoint, value string) {
	t.Helper()
	annotate(t, te, transferv1alpha1.AnnotationRegenerateHostKeys, value)
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		if got := te.Status.LastHandledHostKeyRegeneration; got != value {
			return fmt.Errorf("status.lastHandledHostKeyRegeneration = %q, want %q", got, value)
		}
		return nil
	})
}

// retired are the fingerprints of retired keys with the reason, sorted: "SHA256:...=Regenerated".
func retired(list []transferv1alpha1.RetiredHostKey) []string {
	out := make([]string, 0, len(list))
	for _, k := range list {
		if k.RetiredAt.IsZero() || k.Type == "" {
			out = append(out, "incomplete entry "+k.Fingerprint)
		}
		out = append(out, k.Fingerprint+"="+k.Reason)
	}
	slices.Sort(out)
	return out
}

func withReason(fps []string, reason string) []string {
	out := make([]string, 0, len(fps))
	for _, fp := range fps {
		out = append(out, fp+"="+reason)
	}
	slices.Sort(out)
	return out
}

// liveNodeSelector is the nodeSelector of the endpoint's Deployment's pods now.
func liveNodeSelector(t *testing.T, te *transferv1alpha1.TransferEndpoint) map[string]string {
	t.Helper()
	dep := &appsv1.Deployment{}
	get(t, te.Namespace, render.NamesFor(te).Deployment, dep)
	return dep.Spec.Template.Spec.NodeSelector
}

// Deleting the generated host-key Secret of an endpoint that served keys is an incident, not a reason to
// generate new keys that every client would refuse. New keys come only when asked for, once per request.
func TestDeletedHostKeySecretIsAnIncident(t *testing.T) {
	ns := env.Namespace(t)
	te := keysEndpoint(t, ns, "pinned")
	names := render.NamesFor(te)
	served := fingerprints(te.Status.HostKeys)
	cfgBefore, _ := servedConfig(t, te)

	if err := k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: names.HostKeysSecret}}); err != nil {
		t.Fatal(err)
	}
	checkHostKeysMissing(t, te, served)
	noSecret(t, ns, names.HostKeysSecret)
	if cfg, _ := servedConfig(t, te); !slices.Equal(cfg.SFTP.HostKeyFiles, cfgBefore.SFTP.HostKeyFiles) {
		t.Errorf("the config's host key files changed: %v -> %v", cfgBefore.SFTP.HostKeyFiles, cfg.SFTP.HostKeyFiles)
	}

	// A pod-template change would replace the pods that serve the trusted keys with pods that cannot start.
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) {
		te.Spec.PodTemplate.NodeSelector = map[string]string{"disk": "ssd"}
	})
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, "HostKeysMissing")
	waitForReconciles(t)
	if got := liveNodeSelector(t, te); got["disk"] != "" {
		t.Errorf("the Deployment rolled while its pods could not start: nodeSelector %v", got)
	}

	now := checkRegenerated(t, te, served, "2026-12-03")
	eventually(t, func() error {
		if got := liveNodeSelector(t, te); got["disk"] != "ssd" {
			return fmt.Errorf("the held pod-template change was not applied once the keys were back: %v", got)
		}
		return nil
	})

	// Idempotent: the same request, or any other reconcile, does not make keys again.
	secret := &corev1.Secret{}
	waitForReconciles(t)
	get(t, ns, names.HostKeysSecret, secret)
	version := secret.ResourceVersion
	annotate(t, te, transferv1alpha1.AnnotationRegenerateHostKeys, "2026-12-03")
	poke(t, te)
	waitForReconciles(t)
	get(t, ns, names.HostKeysSecret, secret)
	if secret.ResourceVersion != version {
		t.Error("the host keys were written again for a request already handled")
	}
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
		t.Fatal(err)
	}
	if got := fingerprints(te.Status.HostKeys); !slices.Equal(got, now) {
		t.Errorf("status.hostKeys changed without a request: %v -> %v", now, got)
	}

	// A new value is a new request, also while the Secret exists: the same Secret gets new keys.
	uid := secret.UID
	checkRegenerated(t, te, now, "2026-12-04")
	get(t, ns, names.HostKeysSecret, secret)
	if secret.UID != uid {
		t.Errorf("the second regeneration replaced the Secret (UID %s, was %s) instead of its keys", secret.UID, uid)
	}
	if got := te.Status.PreviousHostKeys; len(got) != 2*len(now) || !slices.Contains(now, got[0].Fingerprint) {
		t.Errorf("status.previousHostKeys = %v, want the second set first, then the first", retired(te.Status.PreviousHostKeys))
	}
}

// checkHostKeysMissing waits for the incident: HostKeysReady and Ready False with HostKeysMissing, a Warning
// event, both naming the Secret and the fingerprints served, which status.hostKeys keeps.
func checkHostKeysMissing(t *testing.T, te *transferv1alpha1.TransferEndpoint, served []string) {
	t.Helper()
	name := render.NamesFor(te).HostKeysSecret
	c := condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, "HostKeysMissing")
	if err := mentionsAll(c.Message, append([]string{name, "Running pods keep serving", "cannot mount",
		transferv1alpha1.AnnotationRegenerateHostKeys}, served...)); err != nil {
		t.Errorf("HostKeysReady: %v", err)
	}
	condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "HostKeysMissing")
	if got := fingerprints(te.Status.HostKeys); !slices.Equal(got, served) {
		t.Errorf("status.hostKeys = %v, want the served %v", got, served)
	}
	warn := event(t, te, corev1.EventTypeWarning, "HostKeysMissing")
	if err := mentionsAll(warn.Note, append([]string{name}, served...)); err != nil {
		t.Errorf("the Warning event: %v", err)
	}
}

// checkRegenerated asks for new keys with value and checks the answer: new keys of the default types in the
// generated Secret and in status, the old ones first in previousHostKeys, and an event naming both. It returns the new keys.
func checkRegenerated(t *testing.T, te *transferv1alpha1.TransferEndpoint, old []string, value string) []string {
	t.Helper()
	regenerate(t, te, value)
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	now := fingerprints(te.Status.HostKeys)
	want := len(transferv1alpha1.DefaultGeneratedHostKeyTypes)
	if len(now) != want || slices.ContainsFunc(now, func(fp string) bool { return slices.Contains(old, fp) }) {
		t.Fatalf("status.hostKeys after regeneration = %v, want %d new keys (old: %v)", now, want, old)
	}
	first := te.Status.PreviousHostKeys[:min(len(old), len(te.Status.PreviousHostKeys))]
	if got, want := retired(first),
		withReason(old, "Regenerated"); !slices.Equal(got, want) {
		t.Errorf("status.previousHostKeys starts with %v, want %v", got, want)
	}
	secret := &corev1.Secret{}
	get(t, te.Namespace, render.NamesFor(te).HostKeysSecret, secret)
	if err := heldBy(secret, te, te.Spec.RetentionPolicy.HostKeys); err != nil || len(secret.Data) != want {
		t.Errorf("the Secret: %d keys, %v", len(secret.Data), err)
	}
	eventually(t, func() error {
		for _, e := range endpointEvents(t, te) {
			if e.Type == corev1.EventTypeNormal && e.Reason == "HostKeysRegenerated" &&
				mentionsAll(e.Note, append(append([]string{secret.Name, value}, old...), now...)) == nil {
				return nil
			}
		}
		return fmt.Errorf("no HostKeysRegenerated event naming %s, %q, the old keys %v and the new %v", secret.Name, value, old, now)
	})
	return now
}

// The first keys of an endpoint are no incident: generated with a Normal event, also when the endpoint comes
// from a GitOps repository that already carries a regeneration annotation, which then counts as handled.
func TestFirstHostKeysAreGeneratedQuietly(t *testing.T) {
	ns := env.Namespace(t)
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fresh",
			Annotations: map[string]string{transferv1alpha1.AnnotationRegenerateHostKeys: "committed-long-ago"}},
		Spec: transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}},
	}
	create(t, te)
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	note := event(t, te, corev1.EventTypeNormal, "HostKeysGenerated")
	if err := mentionsAll(note.Note, fingerprints(te.Status.HostKeys)); err != nil {
		t.Errorf("the HostKeysGenerated event: %v", err)
	}
	waitForReconciles(t)
	secret := &corev1.Secret{}
	get(t, ns, render.NamesFor(te).HostKeysSecret, secret)
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
		t.Fatal(err)
	}
	if te.Status.LastHandledHostKeyRegeneration != "committed-long-ago" || len(te.Status.PreviousHostKeys) != 0 {
		t.Errorf("status: lastHandledHostKeyRegeneration %q, previousHostKeys %v", te.Status.LastHandledHostKeyRegeneration, retired(te.Status.PreviousHostKeys))
	}
	version := secret.ResourceVersion
	poke(t, te)
	waitForReconciles(t)
	get(t, ns, render.NamesFor(te).HostKeysSecret, secret)
	if secret.ResourceVersion != version {
		t.Error("the annotation present at creation made the operator write the keys again")
	}
	for _, e := range endpointEvents(t, te) {
		if e.Type == corev1.EventTypeWarning || e.Reason == "HostKeysRegenerated" {
			t.Errorf("unexpected event %s %s: %s", e.Type, e.Reason, e.Note)
		}
	}
}

// An emptied or corrupted generated Secret is no reason for new keys either: the pods keep theirs, status keeps
// the fingerprints, and a request overwrites the same Secret.
func TestBrokenHostKeySecret(t *testing.T) {
	ns := env.Namespace(t)
	te := keysEndpoint(t, ns, "broken")
	names := render.NamesFor(te)
	served := fingerprints(te.Status.HostKeys)
	secret := &corev1.Secret{}
	get(t, ns, names.HostKeysSecret, secret)
	uid := secret.UID

	// One entry the config names becomes garbage: a new pod could not start.
	update(t, secret, func(s *corev1.Secret) { s.Data["ssh_host_ed25519_key"] = []byte("not a key") })
	c := condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, "InvalidHostKeys")
	if err := mentionsAll(c.Message, append([]string{"ssh_host_ed25519_key", "could not load them",
		transferv1alpha1.AnnotationRegenerateHostKeys}, served...)); err != nil {
		t.Errorf("HostKeysReady: %v", err)
	}
	event(t, te, corev1.EventTypeWarning, "InvalidHostKeys")

	// Emptied: the same.
	update(t, secret, func(s *corev1.Secret) { s.Data = nil })
	falseConditionSays(t, te, transferv1alpha1.ConditionHostKeysReady, "InvalidHostKeys", "holds no host key")
	if got := fingerprints(te.Status.HostKeys); !slices.Equal(got, served) {
		t.Errorf("status.hostKeys = %v, want the served %v", got, served)
	}
	waitForReconciles(t)
	get(t, ns, names.HostKeysSecret, secret)
	if len(secret.Data) != 0 {
		t.Fatalf("the operator wrote keys nobody asked for: %d entries", len(secret.Data))
	}

	regenerate(t, te, "fix")
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	get(t, ns, names.HostKeysSecret, secret)
	if secret.UID != uid || len(secret.Data) != len(transferv1alpha1.DefaultGeneratedHostKeyTypes) {
		t.Errorf("regeneration: Secret UID %s (was %s) with %d keys", secret.UID, uid, len(secret.Data))
	}
	if got, want := retired(te.Status.PreviousHostKeys), withReason(served, "Regenerated"); !slices.Equal(got, want) {
		t.Errorf("status.previousHostKeys = %v, want %v", got, want)
	}
}

// Someone else changing a key of the operator's own Secret is reported, and the replaced key is recorded.
func TestTamperedHostKeySecret(t *testing.T) {
	ns := env.Namespace(t)
	te := keysEndpoint(t, ns, "tampered")
	names := render.NamesFor(te)
	before := te.Status.HostKeys
	secret := &corev1.Secret{}
	get(t, ns, names.HostKeysSecret, secret)
	update(t, secret, func(s *corev1.Secret) { s.Data["ssh_host_ed25519_key"] = hostKeyPEM(t) })
	warn := event(t, te, corev1.EventTypeWarning, "HostKeysChanged")
	i := slices.IndexFunc(before, func(k transferv1alpha1.HostKeyStatus) bool { return k.Type == "ssh-ed25519" })
	if err := mentionsAll(warn.Note, []string{names.HostKeysSecret, before[i].Fingerprint}); err != nil {
		t.Errorf("the Warning event: %v", err)
	}
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		if got, want := retired(te.Status.PreviousHostKeys), []string{before[i].Fingerprint + "=SecretChanged"}; !slices.Equal(got, want) {
			return fmt.Errorf("status.previousHostKeys = %v, want %v", got, want)
		}
		return nil
	})
}

// A Secret the user supplied that vanishes after its keys were served is the same incident; the operator never
// writes that Secret, so a regeneration request is refused with the reason.
func TestUserHostKeySecretThatVanishes(t *testing.T) {
	ns := env.Namespace(t)
	keyPEM := hostKeyPEM(t)
	own := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "own-host-keys"},
		Data: map[string][]byte{"ssh_host_ed25519_key": keyPEM}}
	create(t, own.DeepCopy())
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "byo"},
		Spec: transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{
			HostKeys: &transferv1alpha1.HostKeysSpec{SecretRef: transferv1alpha1.LocalObjectReference{Name: own.Name}},
		}},
	}
	create(t, te)
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	served := fingerprints(te.Status.HostKeys)

	if err := k8s.Delete(context.Background(), own.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	c := condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, "HostKeysMissing")
	if err := mentionsAll(c.Message, append([]string{own.Name, "spec.sftp.hostKeys.secretRef"}, served...)); err != nil {
		t.Errorf("HostKeysReady: %v", err)
	}
	event(t, te, corev1.EventTypeWarning, "HostKeysMissing")

	regenerate(t, te, "please")
	refused := event(t, te, corev1.EventTypeWarning, "HostKeyRegenerationRefused")
	if err := mentionsAll(refused.Note, []string{own.Name, "spec.sftp.hostKeys.secretRef"}); err != nil {
		t.Errorf("the refusal: %v", err)
	}
	noSecret(t, ns, own.Name)
	noSecret(t, ns, te.Name+"-host-keys")
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, "HostKeysMissing")

	// Restored with the same key: back to normal, nothing retired.
	create(t, own.DeepCopy())
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	if len(te.Status.PreviousHostKeys) != 0 || !slices.Equal(fingerprints(te.Status.HostKeys), served) {
		t.Errorf("after the restore: hostKeys %v, previousHostKeys %v", te.Status.HostKeys, retired(te.Status.PreviousHostKeys))
	}

	// The user rotates their own key: recorded, with a Normal event.
	update(t, own.DeepCopy(), func(s *corev1.Secret) { s.Data["ssh_host_ed25519_key"] = hostKeyPEM(t) })
	event(t, te, corev1.EventTypeNormal, "HostKeysChanged")
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		if got, want := retired(te.Status.PreviousHostKeys), withReason(served, "SecretChanged"); !slices.Equal(got, want) {
			return fmt.Errorf("status.previousHostKeys = %v, want %v", got, want)
		}
		return nil
	})
}

// status.hostKeys is the operator's memory of what it served, but the status can be lost (an object restored
// from a backup without it). The config still names the key files the pods load, and that is enough to know.
func TestHostKeysMissingAfterTheStatusWasLost(t *testing.T) {
	ns := env.Namespace(t)
	te := keysEndpoint(t, ns, "amnesia")
	names := render.NamesFor(te)

	// The Secret goes first: while it exists, any reconcile (one of the endpoint's own, still running from its
	// creation) rightly writes its keys back into a status that lost them.
	if err := k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: names.HostKeysSecret}}); err != nil {
		t.Fatal(err)
	}
	patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"hostKeys":null}}`))
	if err := k8s.Status().Patch(context.Background(), te, patch); err != nil {
		t.Fatal(err)
	}
	// The poke comes after the status change in the endpoint's watch, so the reconcile it causes sees the lost
	// status whatever the reconcile of the Secret's deletion saw.
	poke(t, te)
	falseConditionSays(t, te, transferv1alpha1.ConditionHostKeysReady, "HostKeysMissing", "no longer in the status")
	noSecret(t, ns, names.HostKeysSecret)
}

// hostKeyPEM is a new ed25519 host key in OpenSSH PEM form.
func hostKeyPEM(t *testing.T) []byte {
	t.Helper()
	file := filepath.Join(t.TempDir(), "key")
	testcreds.WriteHostKey(t, file)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
