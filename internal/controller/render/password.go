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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pier-dev/pier/api/v1alpha1"
)

// GeneratedPasswordSecretName is the Secret the operator writes a generated password into: <user>-password.
func GeneratedPasswordSecretName(tu *v1alpha1.TransferUser) string {
	return tu.Name + "-password"
}

// GeneratedPasswordSecret holds the password the operator generated for a TransferUser with generatePassword,
// under v1alpha1.DefaultPasswordKey. The user is its controller, so the Secret goes with the user, and the
// operator knows it made it: it never writes a password into a Secret someone else made.
func GeneratedPasswordSecret(tu *v1alpha1.TransferUser, password string) *corev1.Secret {
	labels := map[string]string{LabelManagedBy: ManagedByValue}
	// A label value holds at most 63 characters, a user's name up to 244 here. The owner reference, not this
	// label, ties the Secret to its user, so a longer name goes without it rather than failing the Secret.
	if len(validation.IsValidLabelValue(tu.Name)) == 0 {
		labels[LabelUser] = tu.Name
	}
	return &corev1.Secret{
		TypeMeta: typeMeta("v1", "Secret"),
		ObjectMeta: metav1.ObjectMeta{
			Name:            GeneratedPasswordSecretName(tu),
			Namespace:       tu.Namespace,
			Labels:          labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(tu, v1alpha1.GroupVersion.WithKind("TransferUser"))},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{v1alpha1.DefaultPasswordKey: []byte(password)},
	}
}
