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
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// changedChild passes the updates of a child of kind k that the endpoint reconciler must see: a change of what it
// wants of the child (labels, annotations, owners, or anything outside metadata and status, which the reconciler
// brings back when someone else changed it), and a change of the part of the status the endpoint's status reports
// (childKind.reportedStatus). Other status updates, which the Deployment controller makes many of on a real
// cluster (a rollout's progress, a PodDisruptionBudget's counts), would each cost a whole reconcile of the endpoint.
// Creations and deletions pass.
func changedChild(k childKind) predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return metadataChanged(e.ObjectOld, e.ObjectNew) || contentChanged(e.ObjectOld, e.ObjectNew) ||
				!equality.Semantic.DeepEqual(k.reportedStatus(e.ObjectOld), k.reportedStatus(e.ObjectNew))
		},
	}
}

// metadataChanged reports a change of what the reconciler sets or watches in metadata.
func metadataChanged(a, b client.Object) bool {
	return !equality.Semantic.DeepEqual(a.GetLabels(), b.GetLabels()) ||
		!equality.Semantic.DeepEqual(a.GetAnnotations(), b.GetAnnotations()) ||
		!equality.Semantic.DeepEqual(a.GetOwnerReferences(), b.GetOwnerReferences()) ||
		!a.GetDeletionTimestamp().Equal(b.GetDeletionTimestamp())
}

// contentChanged reports a change outside metadata and status; an object that cannot be compared has changed.
func contentChanged(a, b client.Object) bool {
	was, is := content(a), content(b)
	return was == nil || is == nil || !equality.Semantic.DeepEqual(was, is)
}

// content is the object without its metadata and status: its spec, or for kinds without one (a Role's rules, a
// RoleBinding's subjects), its other fields. Nil when it cannot be converted.
func content(obj client.Object) map[string]any {
	var fields map[string]any
	if u, ok := obj.(*unstructured.Unstructured); ok {
		fields = u.Object
	} else {
		converted, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil
		}
		fields = converted
	}
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		if k != "metadata" && k != "status" && k != "apiVersion" && k != "kind" {
			out[k] = v
		}
	}
	return out
}
