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
	"time"

	"k8s.io/client-go/util/retry"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// TestWideColumns reads both kinds as `kubectl get -o wide` does (the API server's Table, whose priority-1
// columns kubectl shows with -o wide): the Ready message, replicas, the TLS certificate's expiry, the Service type
// and a user's disabled flag.
func TestWideColumns(t *testing.T) {
	ns := env.Namespace(t)
	tlsName := "files-tls"
	ca := testcreds.NewCA(t)
	ca.Issue(t, "localhost")
	create(t, tlsSecret(t, ns, tlsName, ca))
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "files"},
		Spec: transferv1alpha1.TransferEndpointSpec{
			SFTP: &transferv1alpha1.SFTPSpec{},
			FTP: &transferv1alpha1.FTPSpec{Port: 21, TLS: transferv1alpha1.FTPTLSSpec{
				SecretRef: &transferv1alpha1.LocalObjectReference{Name: tlsName}}},
			Service: transferv1alpha1.ServiceSpec{Type: "NodePort"},
		},
	}
	create(t, te)
	ready := condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "PodsNotAvailable")
	tlsReady := condition(t, te, transferv1alpha1.ConditionTLSReady, metav1.ConditionTrue, "Valid")
	if te.Status.TLS == nil || te.Status.TLS.NotAfter == nil {
		t.Fatalf("status.tls = %+v (%s)", te.Status.TLS, tlsReady.Message)
	}
	expires := te.Status.TLS.NotAfter.UTC().Format(time.RFC3339)
	eventually(t, func() error {
		return wantCells(t, ns, "transferendpoints", te.Name, map[string]any{
			"Reason": "PodsNotAvailable", "Message": ready.Message, "Replicas": float64(1), "Available": float64(0),
			"TLS Expires": expires, "Service": "NodePort", "Users Not Ready": float64(0),
		})
	})

	podsAvailable(t, te)
	alice := createPasswordUser(t, ns, "alice")
	served := condition(t, alice, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	eventually(t, func() error {
		return wantCells(t, ns, "transferusers", alice.Name, map[string]any{
			"Reason": "Serving", "Message": served.Message, "Disabled": false,
		})
	})
	update(t, alice, func(tu *transferv1alpha1.TransferUser) { tu.Spec.Disabled = true })
	disabled := condition(t, alice, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Disabled")
	eventually(t, func() error {
		return wantCells(t, ns, "transferusers", alice.Name, map[string]any{
			"Reason": "Disabled", "Message": disabled.Message, "Disabled": true,
		})
	})

	// kubectl get (without -o wide) shows the Ready columns, and leaves the others to -o wide.
	wide := map[string]bool{"Replicas": true, "Available": true, "Users Not Ready": true, "TLS Expires": true, "Service": true, "Disabled": true}
	for _, plural := range []string{"transferendpoints", "transferusers"} {
		for _, col := range getTable(t, ns, plural).ColumnDefinitions {
			if want := map[bool]int32{true: 1}[wide[col.Name]]; col.Priority != want {
				t.Errorf("%s: column %s has priority %d, want %d", plural, col.Name, col.Priority, want)
			}
		}
	}
}

// TestUserReadiness checks status.userReadiness against each user's own Ready condition: the endpoint counts
// its users as their reconciler judges them, while the endpoint serves and when it has no pod left.
func TestUserReadiness(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	createPasswordUser(t, ns, "alice")
	dave := createPasswordUser(t, ns, "dave")
	update(t, dave, func(tu *transferv1alpha1.TransferUser) { tu.Spec.Disabled = true })
	create(t, withPassword(newUser(ns, "bob", "bob"), "no-such-secret"))
	// carol asks for alice's username, which the older alice keeps.
	create(t, withPassword(newUser(ns, "carol", "alice"), "alice-pw"))

	want := func(ready int32, notReady ...transferv1alpha1.NotReadyUser) {
		t.Helper()
		eventually(t, func() error {
			return userReadinessIs(t, te, &transferv1alpha1.UserReadiness{Ready: ready, NotReady: int32(len(notReady)), NotReadyUsers: notReady})
		})
		eventually(t, func() error { return agreesWithUsers(t, te) })
	}
	want(2, // alice, and dave, disabled as asked
		transferv1alpha1.NotReadyUser{Name: "bob", Reason: transferv1alpha1.ReasonSecretNotFound},
		transferv1alpha1.NotReadyUser{Name: "carol", Reason: transferv1alpha1.ReasonDuplicateUsername})

	// No pod left: alice waits for the endpoint and is listed after the users with problems of their own; a
	// disabled user's Ready stays True.
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) { te.Spec.Replicas = ptr(int32(0)) })
	condition(t, te, transferv1alpha1.ConditionAvailable, metav1.ConditionFalse, transferv1alpha1.ReasonScaledToZero)
	want(1,
		transferv1alpha1.NotReadyUser{Name: "bob", Reason: transferv1alpha1.ReasonSecretNotFound},
		transferv1alpha1.NotReadyUser{Name: "carol", Reason: transferv1alpha1.ReasonDuplicateUsername},
		transferv1alpha1.NotReadyUser{Name: "alice", Reason: transferv1alpha1.ReasonEndpointUnavailable})

	// bob's Secret appears: he is served, and waits for a pod like alice.
	create(t, passwordSecret(ns, "no-such-secret", "bob's password"))
	want(1,
		transferv1alpha1.NotReadyUser{Name: "carol", Reason: transferv1alpha1.ReasonDuplicateUsername},
		transferv1alpha1.NotReadyUser{Name: "alice", Reason: transferv1alpha1.ReasonEndpointUnavailable},
		transferv1alpha1.NotReadyUser{Name: "bob", Reason: transferv1alpha1.ReasonEndpointUnavailable})
}

// TestUserReadinessListIsBounded: with more users not Ready than the list holds, the counts stay exact and the
// list names 20.
func TestUserReadinessListIsBounded(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	const broken = 25
	for i := range broken {
		create(t, withPassword(newUser(ns, fmt.Sprintf("u%02d", i), fmt.Sprintf("user%02d", i)), "missing"))
	}
	createPasswordUser(t, ns, "alice")
	eventually(t, func() error {
		get(t, ns, te.Name, te)
		r := te.Status.UserReadiness
		if r == nil || r.Ready != 1 || r.NotReady != broken || len(r.NotReadyUsers) != 20 {
			return fmt.Errorf("status.userReadiness = %+v, want 1 ready, %d not ready, 20 named", r, broken)
		}
		for _, u := range r.NotReadyUsers {
			if !strings.HasPrefix(u.Name, "u") || u.Reason != transferv1alpha1.ReasonSecretNotFound {
				return fmt.Errorf("named %+v, want only users without their Secret", u)
			}
		}
		return nil
	})
}

func userReadinessIs(t *testing.T, te *transferv1alpha1.TransferEndpoint, want *transferv1alpha1.UserReadiness) error {
	t.Helper()
	get(t, te.Namespace, te.Name, te)
	got := te.Status.UserReadiness
	if got == nil || got.Ready != want.Ready || got.NotReady != want.NotReady || !slices.Equal(got.NotReadyUsers, want.NotReadyUsers) {
		return fmt.Errorf("status.userReadiness = %+v, want %+v", got, want)
	}
	return nil
}

// agreesWithUsers compares the endpoint's counts with the users' own Ready conditions, of their current
// generation, and the reasons it names with theirs.
func agreesWithUsers(t *testing.T, te *transferv1alpha1.TransferEndpoint) error {
	t.Helper()
	var list transferv1alpha1.TransferUserList
	if err := k8s.List(context.Background(), &list); err != nil {
		return err
	}
	get(t, te.Namespace, te.Name, te)
	named := map[string]string{}
	for _, u := range te.Status.UserReadiness.NotReadyUsers {
		named[u.Name] = u.Reason
	}
	var ready, notReady int32
	for _, tu := range list.Items {
		if tu.Namespace != te.Namespace {
			continue
		}
		c := meta.FindStatusCondition(tu.Status.Conditions, transferv1alpha1.ConditionReady)
		if c == nil || c.ObservedGeneration != tu.Generation {
			return fmt.Errorf("user %s has no Ready condition of its generation yet", tu.Name)
		}
		if c.Status == metav1.ConditionTrue {
			ready++
			continue
		}
		notReady++
		if reason, ok := named[tu.Name]; ok && reason != c.Reason {
			return fmt.Errorf("the endpoint names %s with reason %s; the user's Ready says %s", tu.Name, reason, c.Reason)
		}
	}
	if r := te.Status.UserReadiness; r.Ready != ready || r.NotReady != notReady {
		return fmt.Errorf("the endpoint counts %d ready and %d not; the users say %d and %d", r.Ready, r.NotReady, ready, notReady)
	}
	return nil
}

// TestScaleSubresource scales an endpoint as `kubectl scale` and a HorizontalPodAutoscaler do, through its scale
// subresource: the Deployment follows, the selector finds the pods, and the CRD's rules refuse what the endpoint
// cannot serve with their own message.
func TestScaleSubresource(t *testing.T) {
	ns := env.Namespace(t)
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "files"},
		Spec: transferv1alpha1.TransferEndpointSpec{
			SFTP:    &transferv1alpha1.SFTPSpec{},
			Storage: transferv1alpha1.StorageSpec{PersistentVolumeClaim: &transferv1alpha1.ExistingClaim{ClaimName: "shared"}},
		},
	}
	create(t, te)
	podsAvailable(t, te)
	dep := &appsv1.Deployment{}
	get(t, ns, render.NamesFor(te).Deployment, dep)

	scale := &autoscalingv1.Scale{}
	eventually(t, func() error {
		if err := k8s.SubResource("scale").Get(context.Background(), te, scale); err != nil {
			return err
		}
		if scale.Spec.Replicas != 1 || scale.Status.Replicas != 1 || scale.Status.Selector == "" {
			return fmt.Errorf("scale = spec %d, status %d, selector %q; want 1, 1 and the pods' selector",
				scale.Spec.Replicas, scale.Status.Replicas, scale.Status.Selector)
		}
		return nil
	})
	selector, err := labels.Parse(scale.Status.Selector)
	if err != nil {
		t.Fatalf("status.selector %q does not parse: %v", scale.Status.Selector, err)
	}
	depSelector, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if selector.String() != depSelector.String() || !selector.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("scale selector %q, want the Deployment's %q, which its pods match", selector, depSelector)
	}

	// kubectl scale --replicas=2 sends a merge patch of the scale; a HorizontalPodAutoscaler updates it.
	if err := scalePatch(te, 2); err != nil {
		t.Fatalf("scaling to 2: %v", err)
	}
	deploymentReplicas(t, dep, 2)
	if err := k8s.SubResource("scale").Get(context.Background(), te, scale); err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 3
	if err := k8s.SubResource("scale").Update(context.Background(), te, client.WithSubResourceBody(scale)); err != nil {
		t.Fatalf("scaling to 3: %v", err)
	}
	deploymentReplicas(t, dep, 3)
	podsAvailable(t, te)
	eventually(t, func() error {
		if err := k8s.SubResource("scale").Get(context.Background(), te, scale); err != nil {
			return err
		}
		if scale.Spec.Replicas != 3 || scale.Status.Replicas != 3 {
			return fmt.Errorf("scale = spec %d, status %d; want 3 and 3", scale.Spec.Replicas, scale.Status.Replicas)
		}
		return nil
	})
}

// scalePatch scales the endpoint as kubectl scale does: a merge patch of its scale subresource.
func scalePatch(te *transferv1alpha1.TransferEndpoint, replicas int32) error {
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas))
	return k8s.SubResource("scale").Patch(context.Background(), te, patch, client.WithSubResourceBody(&autoscalingv1.Scale{}))
}

// deploymentReplicas waits until the endpoint's Deployment asks for replicas pods.
func deploymentReplicas(t *testing.T, dep *appsv1.Deployment, replicas int32) {
	t.Helper()
	eventually(t, func() error {
		get(t, dep.Namespace, dep.Name, dep)
		if dep.Spec.Replicas == nil || *dep.Spec.Replicas != replicas {
			return fmt.Errorf("the Deployment has %v replicas, want %d", dep.Spec.Replicas, replicas)
		}
		return nil
	})
}

// TestScaleRefusedByRules: a scale the endpoint's rules refuse is refused through the scale subresource too,
// with the rule's message, and changes nothing.
func TestScaleRefusedByRules(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpointWithoutPods(t, ns) // emptyDir storage
	create(t, tlsSecret(t, ns, "tls", testcreds.NewCA(t)))
	ftp := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ftp"},
		Spec: transferv1alpha1.TransferEndpointSpec{
			FTP:     &transferv1alpha1.FTPSpec{TLS: transferv1alpha1.FTPTLSSpec{SecretRef: &transferv1alpha1.LocalObjectReference{Name: "tls"}}},
			Storage: transferv1alpha1.StorageSpec{PersistentVolumeClaim: &transferv1alpha1.ExistingClaim{ClaimName: "shared"}},
		},
	}
	create(t, ftp)
	cases := []struct {
		endpoint *transferv1alpha1.TransferEndpoint
		replicas int32
		want     string
	}{
		{te, 2, "spec.replicas above 1 needs storage every pod shares"},
		{ftp, 2, "spec.replicas above 1 cannot serve FTP"},
		{te, 101, "should be less than or equal to 100"},
	}
	for _, c := range cases {
		// The operator writes the endpoint's status meanwhile, which changes its resourceVersion: a conflict is
		// tried again, as kubectl scale does, so that the answer is the rules'.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			scale := &autoscalingv1.Scale{}
			if err := k8s.SubResource("scale").Get(context.Background(), c.endpoint, scale); err != nil {
				t.Fatal(err)
			}
			scale.Spec.Replicas = c.replicas
			return k8s.SubResource("scale").Update(context.Background(), c.endpoint, client.WithSubResourceBody(scale))
		})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("scaling %s to %d with an update: error %v, want one that says %q", c.endpoint.Name, c.replicas, err, c.want)
		}
		if err := scalePatch(c.endpoint, c.replicas); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("scaling %s to %d with a patch: error %v, want one that says %q", c.endpoint.Name, c.replicas, err, c.want)
		}
		get(t, ns, c.endpoint.Name, c.endpoint)
		if r := c.endpoint.Spec.Replicas; r == nil || *r != 1 {
			t.Errorf("after a refused scale, %s has spec.replicas %v, want 1", c.endpoint.Name, r)
		}
	}
}
