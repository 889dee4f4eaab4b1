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
	"bytes"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// How each kind of child is compared with and brought back to what the operator rendered. Comparisons use
// equality.Semantic.DeepDerivative, which ignores fields the rendered object leaves unset, so defaults the API
// server fills in never count as drift.

var deploymentKind = child[*appsv1.Deployment]{
	inSync: func(desired, live *appsv1.Deployment) bool {
		return equality.Semantic.DeepDerivative(desired.Spec, live.Spec)
	},
	update: func(desired, live *appsv1.Deployment) { live.Spec = desired.Spec },
}

var serviceKind = child[*corev1.Service]{
	inSync: func(desired, live *corev1.Service) bool {
		return equality.Semantic.DeepDerivative(withAllocated(desired, live), live.Spec)
	},
	update: func(desired, live *corev1.Service) { live.Spec = withAllocated(desired, live) },
}

// withAllocated is the desired Service spec plus what the API server allocated on the live one: cluster IPs, IP
// families and policy unless the endpoint sets them, and the node ports of ports the operator does not pin.
// Clearing them would be refused or would move the Service, and comparing without them would see drift on every
// reconcile.
func withAllocated(desired, live *corev1.Service) corev1.ServiceSpec {
	spec := *desired.Spec.DeepCopy()
	spec.ClusterIP = live.Spec.ClusterIP
	spec.ClusterIPs = live.Spec.ClusterIPs
	if spec.IPFamilyPolicy == nil {
		// Omitted means Kubernetes' choice, which it made when it created the Service.
		spec.IPFamilyPolicy = live.Spec.IPFamilyPolicy
	}
	spec.IPFamilies = ipFamilies(spec, live.Spec)
	if spec.Type == corev1.ServiceTypeClusterIP || spec.Type == "" {
		return spec
	}
	allocated := map[string]int32{}
	for _, p := range live.Spec.Ports {
		allocated[p.Name] = p.NodePort
	}
	for i := range spec.Ports {
		if spec.Ports[i].NodePort == 0 {
			spec.Ports[i].NodePort = allocated[spec.Ports[i].Name]
		}
	}
	if spec.HealthCheckNodePort == 0 {
		spec.HealthCheckNodePort = live.Spec.HealthCheckNodePort
	}
	return spec
}

// ipFamilies is what an update of the live Service sends as its IP families. The API server completes a
// dual-stack Service's families itself (a PreferDualStack Service asking for [IPv4] gets [IPv4, IPv6] on a
// dual-stack cluster); sending the desired [IPv4] back would ask it to release the second family, which it
// refuses unless the policy is SingleStack. So the live families stand whenever they begin with the desired ones
// and the policy keeps more than one family; a SingleStack policy, or other families, are sent as desired.
func ipFamilies(desired, live corev1.ServiceSpec) []corev1.IPFamily {
	singleStack := desired.IPFamilyPolicy != nil && *desired.IPFamilyPolicy == corev1.IPFamilyPolicySingleStack
	switch {
	case len(desired.IPFamilies) == 0:
		return live.IPFamilies
	case !singleStack && len(live.IPFamilies) > len(desired.IPFamilies) &&
		slices.Equal(live.IPFamilies[:len(desired.IPFamilies)], desired.IPFamilies):
		return live.IPFamilies
	}
	return desired.IPFamilies
}

var secretKind = child[*corev1.Secret]{
	inSync: func(desired, live *corev1.Secret) bool {
		if desired.Type != "" && desired.Type != live.Type || len(desired.Data) != len(live.Data) {
			return false
		}
		for k, v := range desired.Data {
			if have, ok := live.Data[k]; !ok || !bytes.Equal(have, v) {
				return false
			}
		}
		return true
	},
	update: func(desired, live *corev1.Secret) { live.Data = desired.Data },
}

var podDisruptionBudgetKind = child[*policyv1.PodDisruptionBudget]{
	inSync: func(desired, live *policyv1.PodDisruptionBudget) bool {
		return equality.Semantic.DeepDerivative(desired.Spec, live.Spec)
	},
	update: func(desired, live *policyv1.PodDisruptionBudget) { live.Spec = desired.Spec },
}

var serviceAccountKind = child[*corev1.ServiceAccount]{
	inSync: func(_, _ *corev1.ServiceAccount) bool { return true },
	update: func(_, _ *corev1.ServiceAccount) {},
}

var roleKind = child[*rbacv1.Role]{
	inSync: func(desired, live *rbacv1.Role) bool { return equality.Semantic.DeepEqual(desired.Rules, live.Rules) },
	update: func(desired, live *rbacv1.Role) { live.Rules = desired.Rules },
}

var roleBindingKind = child[*rbacv1.RoleBinding]{
	inSync: func(desired, live *rbacv1.RoleBinding) bool {
		return equality.Semantic.DeepEqual(desired.Subjects, live.Subjects)
	},
	// roleRef is immutable, and always the same Role name for one endpoint.
	update: func(desired, live *rbacv1.RoleBinding) { live.Subjects = desired.Subjects },
}

// A PersistentVolumeClaim is created from the template once and then left alone, as a StatefulSet does with its
// claims: most of a claim's spec is immutable, and the data in it matters more than the template.
var persistentVolumeClaimKind = child[*corev1.PersistentVolumeClaim]{
	inSync: func(_, _ *corev1.PersistentVolumeClaim) bool { return true },
	update: func(_, _ *corev1.PersistentVolumeClaim) {},
}

var certificateKind = child[*unstructured.Unstructured]{
	inSync: func(desired, live *unstructured.Unstructured) bool {
		return equality.Semantic.DeepDerivative(desired.Object["spec"], live.Object["spec"])
	},
	update: func(desired, live *unstructured.Unstructured) { live.Object["spec"] = desired.Object["spec"] },
}
