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

package render

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/pier-dev/pier/api/v1alpha1"
)

// ServiceAccount is the identity of the server pods. It leaves automountServiceAccountToken unset: the pod spec
// asks for the token itself, so the choice is visible where it matters.
func ServiceAccount(te *v1alpha1.TransferEndpoint) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   typeMeta("v1", "ServiceAccount"),
		ObjectMeta: objectMeta(te, NamesFor(te).ServiceAccount),
	}
}

// Role lets the server read its own config Secret and nothing else: no other Secret, not even the host keys or
// the certificate, which reach it as mounted files.
func Role(te *v1alpha1.TransferEndpoint) *rbacv1.Role {
	names := NamesFor(te)
	return &rbacv1.Role{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "Role"),
		ObjectMeta: objectMeta(te, names.Role),
		Rules: []rbacv1.PolicyRule{{
			APIGroups:     []string{""},
			Resources:     []string{"secrets"},
			ResourceNames: []string{names.ConfigSecret},
			Verbs:         []string{"get", "list", "watch"},
		}},
	}
}

// RoleBinding grants Role to ServiceAccount.
func RoleBinding(te *v1alpha1.TransferEndpoint) *rbacv1.RoleBinding {
	names := NamesFor(te)
	return &rbacv1.RoleBinding{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"),
		ObjectMeta: objectMeta(te, names.RoleBinding),
		RoleRef: rbacv1.RoleRef{
			APIGroup: rbacv1.GroupName,
			Kind:     "Role",
			Name:     names.Role,
		},
		Subjects: []rbacv1.Subject{{
			Kind:      rbacv1.ServiceAccountKind,
			Name:      names.ServiceAccount,
			Namespace: te.Namespace,
		}},
	}
}
