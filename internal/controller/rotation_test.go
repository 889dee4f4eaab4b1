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
	"path"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/hostkeys"
	"github.com/pier-dev/pier/internal/controller/render"
)

// servedKeyFiles are the host-key files the endpoint's config names, by base name, sorted.
func servedKeyFiles(t *testing.T, te *transferv1alpha1.TransferEndpoint) []string {
	t.Helper()
	cfg, _ := servedConfig(t, te)
	out := make([]string, 0, len(cfg.SFTP.HostKeyFiles))
	for _, f := range cfg.SFTP.HostKeyFiles {
		out = append(out, path.Base(f))
	}
	slices.Sort(out)
	return out
}

// waitForKeys waits until status.hostKeys holds exactly the fingerprints given (sorted), and the config names
// the Secret's entries of those keys.
func waitForKeys(t *testing.T, te *transferv1alpha1.TransferEndpoint, want []string, files ...string) {
	t.Helper()
	slices.Sort(files)
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		if got := fingerprints(te.Status.HostKeys); !slices.Equal(got, want) {
			return fmt.Errorf("status.hostKeys = %v, want %v", got, want)
		}
		if got := servedKeyFiles(t, te); !slices.Equal(got, files) {
			return fmt.Errorf("the config names %v, want %v", got, files)
		}
		return nil
	})
}

// A rotation as docs/operator.md describes it: add a key of another type beside the served one, then retire the
// old one by fingerprint. Both are served in between; nothing else changes.
func TestHostKeyRotation(t *testing.T) {
	ns := env.Namespace(t)
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rotating"},
		Spec: transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{
			GeneratedHostKeyTypes: []transferv1alpha1.HostKeyType{transferv1alpha1.HostKeyED25519}}},
	}
	create(t, te)
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	old := fingerprints(te.Status.HostKeys)
	if len(old) != 1 {
		t.Fatalf("status.hostKeys = %v, want one ed25519 key", te.Status.HostKeys)
	}

	// Every listed type is served: an addition has nothing to add, and says how to go on.
	annotate(t, te, transferv1alpha1.AnnotationAddHostKeys, "1")
	refused := event(t, te, corev1.EventTypeWarning, "HostKeyAdditionRefused")
	if err := mentionsAll(refused.Note, []string{"generatedHostKeyTypes", "one key per type", old[0]}); err != nil {
		t.Errorf("the refusal: %v", err)
	}
	waitForKeys(t, te, old, hostkeys.ED25519Key)

	// Step 1: add an ECDSA key; both are served.
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) {
		te.Spec.SFTP.GeneratedHostKeyTypes = append(te.Spec.SFTP.GeneratedHostKeyTypes, transferv1alpha1.HostKeyECDSA)
	})
	annotate(t, te, transferv1alpha1.AnnotationAddHostKeys, "2")
	var both []string
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		if te.Status.LastHandledHostKeyAddition != "2" || len(te.Status.HostKeys) != 2 {
			return fmt.Errorf("status: lastHandledHostKeyAddition %q, hostKeys %v", te.Status.LastHandledHostKeyAddition, te.Status.HostKeys)
		}
		both = fingerprints(te.Status.HostKeys)
		return nil
	})
	if !slices.Contains(both, old[0]) {
		t.Fatalf("the old key is no longer served after the addition: %v (old %v)", both, old)
	}
	waitForKeys(t, te, both, hostkeys.ED25519Key, hostkeys.ECDSAKey)
	added := event(t, te, corev1.EventTypeNormal, "HostKeysAdded")
	newKey := slices.DeleteFunc(slices.Clone(both), func(fp string) bool { return fp == old[0] })
	if err := mentionsAll(added.Note, append(newKey, "spec.sftp.retiredHostKeys")); err != nil {
		t.Errorf("the HostKeysAdded event: %v", err)
	}
	if len(te.Status.PreviousHostKeys) != 0 {
		t.Errorf("an addition retired keys: %v", retired(te.Status.PreviousHostKeys))
	}
	// The same request again adds nothing.
	poke(t, te)
	waitForReconciles(t)
	waitForKeys(t, te, both, hostkeys.ED25519Key, hostkeys.ECDSAKey)

	// Retiring every key is refused: one stays.
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) { te.Spec.SFTP.RetiredHostKeys = both })
	event(t, te, corev1.EventTypeWarning, "HostKeyRetirementRefused")
	waitForReconciles(t)
	waitForKeys(t, te, both, hostkeys.ED25519Key, hostkeys.ECDSAKey)

	// Step 3: retire the old key.
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) { te.Spec.SFTP.RetiredHostKeys = old })
	waitForKeys(t, te, newKey, hostkeys.ECDSAKey)
	if got, want := retired(te.Status.PreviousHostKeys), withReason(old, transferv1alpha1.HostKeyRetiredOnRequest); !slices.Equal(got, want) {
		t.Errorf("status.previousHostKeys = %v, want %v", got, want)
	}
	secret := &corev1.Secret{}
	get(t, ns, render.NamesFor(te).HostKeysSecret, secret)
	if _, ok := secret.Data[hostkeys.ED25519Key]; ok || len(secret.Data) != 1 {
		t.Errorf("the Secret still holds %d entries (ed25519: %v)", len(secret.Data), ok)
	}
	event(t, te, corev1.EventTypeNormal, "HostKeysRetired")
}

// The API refuses retiredHostKeys on an endpoint whose keys come from the user's own Secret, and malformed
// fingerprints.
func TestRetiredHostKeysValidation(t *testing.T) {
	ns := env.Namespace(t)
	own := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "own"},
		Spec: transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{
			HostKeys:        &transferv1alpha1.HostKeysSpec{SecretRef: transferv1alpha1.LocalObjectReference{Name: "mine"}},
			RetiredHostKeys: []string{"SHA256:" + "A234567890123456789012345678901234567890123"}}},
	}
	if err := k8s.Create(context.Background(), own); err == nil {
		t.Error("retiredHostKeys with spec.sftp.hostKeys was accepted")
	}
	bad := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bad"},
		Spec: transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{
			RetiredHostKeys: []string{"MD5:00:11"}}},
	}
	if err := k8s.Create(context.Background(), bad); err == nil {
		t.Error("a malformed fingerprint was accepted")
	}
}

// The operator never writes the user's own host-key Secret: an addition request says so, once.
func TestAddHostKeysRefusedForOwnSecret(t *testing.T) {
	ns := env.Namespace(t)
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mine"},
		Data: map[string][]byte{"ssh_host_ed25519_key": hostKeyPEM(t)}})
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "own"},
		Spec: transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{
			HostKeys: &transferv1alpha1.HostKeysSpec{SecretRef: transferv1alpha1.LocalObjectReference{Name: "mine"}}}},
	}
	create(t, te)
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	served := fingerprints(te.Status.HostKeys)
	annotate(t, te, transferv1alpha1.AnnotationAddHostKeys, "1")
	e := event(t, te, corev1.EventTypeWarning, "HostKeyAdditionRefused")
	if err := mentionsAll(e.Note, []string{"mine", "spec.sftp.hostKeys.secretRef"}); err != nil {
		t.Errorf("the refusal: %v", err)
	}
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		if te.Status.LastHandledHostKeyAddition != "1" {
			return fmt.Errorf("status.lastHandledHostKeyAddition = %q", te.Status.LastHandledHostKeyAddition)
		}
		return nil
	})
	if got := fingerprints(te.Status.HostKeys); !slices.Equal(got, served) {
		t.Errorf("status.hostKeys = %v, want %v", got, served)
	}
}
