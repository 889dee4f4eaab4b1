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
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
)

// TestOneChangeCostsOneEndpointReconcile: a change of one user (its spec, its password, or a new user) costs one
// reconcile of its endpoint and reconciles of that user alone: not a second endpoint reconcile for the endpoint's
// own config write, nor one of every user of the endpoint. The user is reconciled at most twice: for the change
// itself (when the config does not serve it yet), and when the endpoint's config write serves it.
func TestOneChangeCostsOneEndpointReconcile(t *testing.T) {
	ns := env.Namespace(t)
	// A manager of this namespace alone, so that its metrics count this test's objects only.
	restartManager(t, ns, nil)
	te := sftpEndpoint(t, ns)
	const others = 6
	all := make([]*transferv1alpha1.TransferUser, 0, others)
	for i := range others {
		all = append(all, createPasswordUser(t, ns, fmt.Sprintf("user%d", i)))
	}
	for _, tu := range all {
		condition(t, tu, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	}
	waitForReconciles(t)
	wantOneChange := func(t *testing.T, what string, change func() *transferv1alpha1.TransferUser) {
		t.Helper()
		before := reconciles(t)
		tu := change()
		condition(t, tu, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
		waitForReconciles(t)
		if got := reconciles(t).since(before); got.endpoints != 1 || got.users < 1 || got.users > 2 {
			t.Errorf("%s: %v endpoint and %v user reconciles, want 1 and 1-2 (the endpoint has %d other users)",
				what, got.endpoints, got.users, others)
		}
	}

	wantOneChange(t, "a user's spec changed", func() *transferv1alpha1.TransferUser {
		update(t, all[0], func(tu *transferv1alpha1.TransferUser) { tu.Spec.HomeDirectory = "/elsewhere" })
		eventually(t, func() error {
			if home := userEntry(t, te, "user0", true).HomeDirectory; home != "/elsewhere" {
				return fmt.Errorf("user0's home is %s", home)
			}
			return nil
		})
		return all[0]
	})
	wantOneChange(t, "a user's password changed", func() *transferv1alpha1.TransferUser {
		update(t, passwordSecret(ns, "user1-pw", ""), func(s *corev1.Secret) { s.Data["password"] = []byte("a new password") })
		servesPassword(t, te, "user1", "a new password")
		return all[1]
	})
	wantOneChange(t, "a user added", func() *transferv1alpha1.TransferUser {
		tu := createPasswordUser(t, ns, "newcomer")
		userEntry(t, te, "newcomer", true)
		return tu
	})
}

// TestChildStatusWakesTheEndpointOnlyWhenItReportsIt: of its Deployment's status updates, only those that change
// what the endpoint's status reports (the counts of replicas, the Available and ReplicaFailure conditions) reconcile
// the endpoint: not the Deployment controller's progress reports during a rollout. A change of the Deployment's
// spec by someone else still wakes the endpoint, which brings it back.
func TestChildStatusWakesTheEndpointOnlyWhenItReportsIt(t *testing.T) {
	ns := env.Namespace(t)
	restartManager(t, ns, nil)
	te := sftpEndpoint(t, ns)
	condition(t, te, transferv1alpha1.ConditionAvailable, metav1.ConditionTrue, "")
	waitForReconciles(t)
	dep := &appsv1.Deployment{}
	get(t, ns, te.Name, dep)
	setStatus := func(change func(*appsv1.DeploymentStatus)) {
		t.Helper()
		eventually(t, func() error {
			if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(dep), dep); err != nil {
				return err
			}
			change(&dep.Status)
			return k8s.Status().Update(context.Background(), dep)
		})
	}

	before := reconciles(t)
	for i := range 3 {
		setStatus(func(st *appsv1.DeploymentStatus) {
			now := metav1.Now()
			st.UpdatedReplicas = int32(i % 2)
			st.Conditions = slices.DeleteFunc(st.Conditions, func(c appsv1.DeploymentCondition) bool { return c.Type == appsv1.DeploymentProgressing })
			st.Conditions = append(st.Conditions, appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue,
				Reason: "ReplicaSetUpdated", Message: fmt.Sprintf("ReplicaSet is progressing (%d)", i), LastUpdateTime: now, LastTransitionTime: now})
		})
	}
	waitForReconciles(t)
	if got := reconciles(t).since(before); got.endpoints != 0 {
		t.Errorf("the Deployment's progress reports reconciled the endpoint %v times, want none", got.endpoints)
	}

	before = reconciles(t)
	setStatus(func(st *appsv1.DeploymentStatus) {
		st.AvailableReplicas, st.ReadyReplicas = 0, 0
		for i := range st.Conditions {
			if st.Conditions[i].Type == appsv1.DeploymentAvailable {
				st.Conditions[i].Status, st.Conditions[i].Reason = corev1.ConditionFalse, "MinimumReplicasUnavailable"
			}
		}
	})
	condition(t, te, transferv1alpha1.ConditionAvailable, metav1.ConditionFalse, "")
	waitForReconciles(t)
	if got := reconciles(t).since(before); got.endpoints != 1 {
		t.Errorf("a change of the Deployment's available replicas reconciled the endpoint %v times, want once", got.endpoints)
	}

	replicas := *dep.Spec.Replicas
	update(t, dep, func(d *appsv1.Deployment) { d.Spec.Replicas = new(replicas + 2) })
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(dep), dep); err != nil {
			return err
		}
		if *dep.Spec.Replicas != replicas {
			return fmt.Errorf("the Deployment's edited replicas (%d) were not brought back to %d", *dep.Spec.Replicas, replicas)
		}
		return nil
	})
	// The operator updated it from its cache, which holds no managedFields: the API server kept them, the
	// operator's and the editor's.
	managers := map[string]bool{}
	for _, f := range dep.ManagedFields {
		managers[f.Manager] = true
	}
	if !managers[render.FieldOwner] || len(managers) < 2 {
		t.Errorf("after the operator's update the Deployment's managedFields name %v, want %s and the editor", managers, render.FieldOwner)
	}
}

// TestRefusedUserLearnsWhoRefusesItNow: a user left out because of an older one is told again when a change of
// another user moves the conflict: only the config write wakes it, since its own entry is absent before and after.
func TestRefusedUserLearnsWhoRefusesItNow(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	user := func(name, home string) *transferv1alpha1.TransferUser {
		create(t, passwordSecret(ns, name+"-pw", name+"'s password"))
		tu := withPassword(newUser(ns, name, name), name+"-pw")
		tu.Spec.HomeDirectory = home
		create(t, tu)
		return tu
	}
	// Created within a second of each other, so their names decide which is older (users.Older): anna, bea, cleo.
	anna := user("anna", "/a")
	condition(t, anna, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	bea := user("bea", "/a/b")
	falseConditionSays(t, bea, transferv1alpha1.ConditionReady, "HomeOverlap", "anna")
	cleo := user("cleo", "/a/b/c")
	falseConditionSays(t, cleo, transferv1alpha1.ConditionReady, "HomeOverlap", "anna")

	update(t, anna, func(tu *transferv1alpha1.TransferUser) { tu.Spec.HomeDirectory = "/z" })
	condition(t, bea, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	falseConditionSays(t, cleo, transferv1alpha1.ConditionReady, "HomeOverlap", "TransferUser bea")
	userEntry(t, te, "cleo", false)
}
