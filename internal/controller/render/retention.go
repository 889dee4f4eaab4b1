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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pier-dev/pier/api/v1alpha1"
)

// AnnotationEndpointUID, on an object that may outlive its endpoint (the claim of a volumeClaimTemplate, the
// generated host keys), is the uid of the endpoint that holds it. Only the operator writes it: with the labels
// LabelManagedBy and LabelEndpoint it is how a re-created endpoint of the same name tells an object kept for it
// from one somebody else made under the same name, and which endpoint it came from.
const AnnotationEndpointUID = "transfer.pier.dev/endpoint-uid"

// retainable applies the endpoint's retention policy to the metadata of an object that may outlive it: with
// Retain it has no owner reference, so the garbage collector leaves it when the endpoint is deleted; with Delete
// the endpoint is its controller, so the garbage collector deletes it with the endpoint, with no finalizer that
// could keep a deletion waiting for the operator.
func retainable(meta *metav1.ObjectMeta, te *v1alpha1.TransferEndpoint, policy v1alpha1.RetentionPolicyType) {
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	meta.Annotations[AnnotationEndpointUID] = string(te.UID)
	if policy == v1alpha1.RetentionDelete {
		meta.OwnerReferences = []metav1.OwnerReference{OwnerReference(te)}
	} else {
		meta.OwnerReferences = nil
	}
}

// Retains reports whether the policy keeps an object when its endpoint is deleted; unset means the default,
// Retain.
func Retains(policy v1alpha1.RetentionPolicyType) bool { return policy != v1alpha1.RetentionDelete }
