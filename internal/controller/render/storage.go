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
	"maps"

	corev1 "k8s.io/api/core/v1"

	"github.com/pier-dev/pier/api/v1alpha1"
)

// PersistentVolumeClaim is the claim the operator creates from spec.storage.volumeClaimTemplate, or nil when the
// endpoint uses an existing claim or emptyDir.
//
// spec.retentionPolicy.storage decides whether the claim outlives the endpoint: with Retain (the default) it has
// no owner reference, and the files on it stay when the endpoint is deleted; with Delete the endpoint owns it and
// the garbage collector deletes it, with every file on it, together with the endpoint.
func PersistentVolumeClaim(te *v1alpha1.TransferEndpoint) *corev1.PersistentVolumeClaim {
	tpl := te.Spec.Storage.VolumeClaimTemplate
	if tpl == nil {
		return nil
	}
	meta := objectMeta(te, NamesFor(te).ClaimName)
	// The template's labels first, then ours: ours identify the claim as this endpoint's.
	labels := maps.Clone(tpl.Metadata.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, meta.Labels)
	meta.Labels = labels
	meta.Annotations = maps.Clone(tpl.Metadata.Annotations)
	retainable(&meta, te, te.Spec.RetentionPolicy.Storage)

	return &corev1.PersistentVolumeClaim{
		TypeMeta:   typeMeta("v1", "PersistentVolumeClaim"),
		ObjectMeta: meta,
		Spec:       *tpl.Spec.DeepCopy(),
	}
}
