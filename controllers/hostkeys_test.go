/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/controllers/render"
)

// keysEndpoint is an SFTP-only endpoint with generated host keys, created and waited for until its keys are
// served (HostKeysReady=True with three fingerprints in status).
func keysEndpoint(t *testing.T, namespace, name string) *transferv1alpha1.TransferEndpoint {
	t.Helper()
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}},
	}
	create(t, te)
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	if len(te.Status.HostKeys) != 3 {
		t.Fatalf("status.hostKeys = %v, want three keys", te.Status.HostKeys)
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

// Deleting the generated host-key Secret of an endpoint that served keys is an incident, not a reason to
// generate new keys that every client would refuse.
func TestDeletedHostKeySecretIsAnIncident(t *testing.T) {
	ns := env.Namespace(t)
	te := keysEndpoint(t, ns, "pinned")
	names := render.NamesFor(te)
	served := fingerprints(te.Status.HostKeys)
	cfgBefore, _ := servedConfig(t, te)

	if err := k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: names.HostKeysSecret}}); err != nil {
		t.Fatal(err)
	}
	c := condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, "HostKeysMissing")
	if err := mentionsAll(c.Message, append([]string{names.HostKeysSecret}, served...)); err != nil {
		t.Errorf("HostKeysReady: %v", err)
	}
	condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "HostKeysMissing")
	if got := fingerprints(te.Status.HostKeys); !slices.Equal(got, served) {
		t.Errorf("status.hostKeys = %v, want the served %v", got, served)
	}
	warn := event(t, te, corev1.EventTypeWarning, "HostKeysMissing")
	if err := mentionsAll(warn.Note, append([]string{names.HostKeysSecret}, served...)); err != nil {
		t.Errorf("the Warning event: %v", err)
	}
	noSecret(t, ns, names.HostKeysSecret)
	if cfg, _ := servedConfig(t, te); !slices.Equal(cfg.SFTP.HostKeyFiles, cfgBefore.SFTP.HostKeyFiles) {
		t.Errorf("the config's host key files changed: %v -> %v", cfgBefore.SFTP.HostKeyFiles, cfg.SFTP.HostKeyFiles)
	}
}
