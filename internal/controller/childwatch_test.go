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
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// TestChangedChild: which updates of each kind of child wake the endpoint.
func TestChangedChild(t *testing.T) {
	deployment := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "files", Labels: map[string]string{"a": "b"}},
		Spec:       appsv1.DeploymentSpec{Replicas: new(int32(1))},
		Status: appsv1.DeploymentStatus{Replicas: 1, AvailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
		}},
	}
	service := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "files"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
	budget := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "files"},
		Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: new(intstr.FromInt32(1))}}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "files-server"}}
	tests := []struct {
		name   string
		kind   childKind
		before client.Object
		change func(client.Object)
		want   bool
	}{
		{"a rollout's progress", deploymentKind, deployment, func(o client.Object) {
			d := o.(*appsv1.Deployment)
			d.Status.UpdatedReplicas = 1
			d.Status.Conditions[1].Message, d.Status.Conditions[1].LastUpdateTime = "ReplicaSet progressed", metav1.Now()
		}, false},
		{"available replicas", deploymentKind, deployment, func(o client.Object) { o.(*appsv1.Deployment).Status.AvailableReplicas = 0 }, true},
		{"the Available condition", deploymentKind, deployment, func(o client.Object) {
			o.(*appsv1.Deployment).Status.Conditions[0].Status = corev1.ConditionFalse
		}, true},
		{"a Deployment's spec", deploymentKind, deployment, func(o client.Object) { o.(*appsv1.Deployment).Spec.Replicas = new(int32(3)) }, true},
		{"a label", deploymentKind, deployment, func(o client.Object) { o.SetLabels(nil) }, true},
		{"a resourceVersion alone", deploymentKind, deployment, func(o client.Object) { o.SetResourceVersion("7") }, false},
		{"a load balancer's address", serviceKind, service, func(o client.Object) {
			o.(*corev1.Service).Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}}
		}, true},
		{"a budget's counts", podDisruptionBudgetKind, budget, func(o client.Object) {
			o.(*policyv1.PodDisruptionBudget).Status.CurrentHealthy = 2
		}, false},
		{"a budget's spec", podDisruptionBudgetKind, budget, func(o client.Object) {
			o.(*policyv1.PodDisruptionBudget).Spec.MaxUnavailable = new(intstr.FromInt32(2))
		}, true},
		{"a Role's rules", roleKind, role, func(o client.Object) {
			o.(*rbacv1.Role).Rules = []rbacv1.PolicyRule{{Verbs: []string{"get"}}}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after := tt.before.DeepCopyObject().(client.Object)
			tt.change(after)
			if got := changedChild(tt.kind).Update(event.UpdateEvent{ObjectOld: tt.before, ObjectNew: after}); got != tt.want {
				t.Errorf("wakes the endpoint: %v, want %v", got, tt.want)
			}
		})
	}
}
