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
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pier-dev/pier/api/v1alpha1"
)

// TestGeneratedPasswordSecret: the Secret of a generated password, whole, for a user whose name fits a label
// value and for one whose name does not (it goes without the user label rather than being refused).
func TestGeneratedPasswordSecret(t *testing.T) {
	user := func(name string) *v1alpha1.TransferUser {
		return &v1alpha1.TransferUser{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team", UID: "u-1"}}
	}
	owner := func(name string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "transfer.pier.dev/v1alpha1", Kind: "TransferUser", Name: name,
			UID: "u-1", Controller: new(true), BlockOwnerDeletion: new(true)}}
	}
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		name string
		tu   *v1alpha1.TransferUser
		want *corev1.Secret
	}{
		{"a name that is a label value", user("alice"), &corev1.Secret{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: "alice-password", Namespace: "team", OwnerReferences: owner("alice"),
				Labels: map[string]string{"app.kubernetes.io/managed-by": "pier-operator", "transfer.pier.dev/user": "alice"}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"password": []byte("s3cret")},
		}},
		{"a name too long for a label value", user(long), &corev1.Secret{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: long + "-password", Namespace: "team", OwnerReferences: owner(long),
				Labels: map[string]string{"app.kubernetes.io/managed-by": "pier-operator"}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"password": []byte("s3cret")},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := GeneratedPasswordSecret(tc.tu, "s3cret")
			if !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestLongestUserNameFitsThePasswordSecret: a TransferUser with generatePassword may have a name of 244
// characters (its CRD rule), and its Secret's name and labels must still be ones the API server accepts.
func TestLongestUserNameFitsThePasswordSecret(t *testing.T) {
	name := strings.Repeat("u.9-", 61)
	if len(name) != 244 {
		t.Fatalf("the test name has %d characters, want 244", len(name))
	}
	name = name[:243] + "z" // a name ends with a letter or digit
	secret := GeneratedPasswordSecret(&v1alpha1.TransferUser{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team"}}, "x")
	checkName(t, "password Secret", secret, secret.Name)
	checkLabels(t, "password Secret", secret.Labels)
}
