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
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/api/v1alpha1"
)

// PodDefaults are the operator-wide defaults for every endpoint's server pods (the manager's --endpoint-defaults
// file), so a platform team states its registry credentials and node pool once instead of on every
// TransferEndpoint. The fields and their YAML names are those of a PodSpec.
//
// An endpoint's own spec.podTemplate wins: a nodeSelector, tolerations or priorityClassName it sets replaces the
// default as a whole. They are not merged key by key, because a merged nodeSelector ANDs two teams' intentions
// and may match no node at all, and a tenant could not otherwise drop a default toleration. imagePullSecrets are
// the exception: they are added to the endpoint's own, since the image they pull is the operator's
// (--server-image), not the endpoint's.
type PodDefaults struct {
	ImagePullSecrets  []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	Tolerations       []corev1.Toleration           `json:"tolerations,omitempty"`
	NodeSelector      map[string]string             `json:"nodeSelector,omitempty"`
	PriorityClassName string                        `json:"priorityClassName,omitempty"`
}

// ParsePodDefaults reads the --endpoint-defaults file. Unknown fields are refused rather than ignored: a typo such
// as "toleration:" would otherwise leave every endpoint without the setting and nobody would notice.
func ParsePodDefaults(data []byte) (PodDefaults, error) {
	var d PodDefaults
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		return PodDefaults{}, fmt.Errorf("endpoint defaults: %w", err)
	}
	if err := d.Validate(); err != nil {
		return PodDefaults{}, fmt.Errorf("endpoint defaults: %w", err)
	}
	return d, nil
}

// Validate checks what the API server would refuse in a Deployment, so a bad default stops the manager at start
// with a message naming the field, instead of failing every endpoint's Deployment update later.
func (d PodDefaults) Validate() error {
	var errs []error
	for i, s := range d.ImagePullSecrets {
		for _, msg := range validation.IsDNS1123Subdomain(s.Name) {
			errs = append(errs, fmt.Errorf("imagePullSecrets[%d].name %q: %s", i, s.Name, msg))
		}
	}
	for k, v := range d.NodeSelector {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("nodeSelector key %q: %s", k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Errorf("nodeSelector[%q] value %q: %s", k, v, msg))
		}
	}
	if d.PriorityClassName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(d.PriorityClassName) {
			errs = append(errs, fmt.Errorf("priorityClassName %q: %s", d.PriorityClassName, msg))
		}
	}
	for i, t := range d.Tolerations {
		if err := validateToleration(t); err != nil {
			errs = append(errs, fmt.Errorf("tolerations[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// validateToleration applies the API server's rules for a toleration (k8s.io/kubernetes' validation is not a
// library): an optional qualified key, Exists with no value, Equal with a key, a known effect, and
// tolerationSeconds only with NoExecute.
func validateToleration(t corev1.Toleration) error {
	if t.Key != "" {
		if msgs := validation.IsQualifiedName(t.Key); len(msgs) > 0 {
			return fmt.Errorf("key %q: %s", t.Key, strings.Join(msgs, "; "))
		}
	}
	switch t.Operator {
	case corev1.TolerationOpEqual, "":
		if t.Key == "" {
			return errors.New("operator Equal (the default) needs a key; use operator Exists to tolerate every taint")
		}
		if msgs := validation.IsValidLabelValue(t.Value); len(msgs) > 0 {
			return fmt.Errorf("value %q: %s", t.Value, strings.Join(msgs, "; "))
		}
	case corev1.TolerationOpExists:
		if t.Value != "" {
			return fmt.Errorf("operator Exists takes no value (got %q)", t.Value)
		}
	default:
		return fmt.Errorf("operator %q: want Equal or Exists", t.Operator)
	}
	switch t.Effect {
	case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
	default:
		return fmt.Errorf("effect %q: want NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
	}
	if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
		return fmt.Errorf("tolerationSeconds needs effect NoExecute (got %q)", t.Effect)
	}
	return nil
}

// scheduling is what the pod's scheduling fields become: the endpoint's own where it sets them, else the
// defaults (see PodDefaults).
type scheduling struct {
	nodeSelector      map[string]string
	tolerations       []corev1.Toleration
	priorityClassName string
	imagePullSecrets  []corev1.LocalObjectReference
}

// schedulingOf combines tpl and d. The result shares nothing with either: the defaults are the same for every
// endpoint, and a rendered Deployment may be changed by whoever applies it.
func schedulingOf(tpl *v1alpha1.PodTemplateSpec, d PodDefaults) scheduling {
	tpl, d = tpl.DeepCopy(), d.deepCopy()
	s := scheduling{
		nodeSelector:      tpl.NodeSelector,
		tolerations:       tpl.Tolerations,
		priorityClassName: tpl.PriorityClassName,
	}
	if len(s.nodeSelector) == 0 && len(d.NodeSelector) > 0 {
		s.nodeSelector = d.NodeSelector
	}
	if len(s.tolerations) == 0 && len(d.Tolerations) > 0 {
		s.tolerations = d.Tolerations
	}
	if s.priorityClassName == "" {
		s.priorityClassName = d.PriorityClassName
	}
	s.imagePullSecrets = mergePullSecrets(d.ImagePullSecrets, tpl.ImagePullSecrets)
	return s
}

func (d PodDefaults) deepCopy() PodDefaults {
	out := PodDefaults{
		ImagePullSecrets:  slices.Clone(d.ImagePullSecrets),
		NodeSelector:      maps.Clone(d.NodeSelector),
		PriorityClassName: d.PriorityClassName,
	}
	for _, t := range d.Tolerations {
		out.Tolerations = append(out.Tolerations, *t.DeepCopy())
	}
	return out
}

// mergePullSecrets is the defaults followed by the endpoint's own, each name once; nil when both are empty, so
// an endpoint without any renders exactly as before defaults existed (no spec-hash change, no rollout).
func mergePullSecrets(defaults, own []corev1.LocalObjectReference) []corev1.LocalObjectReference {
	var out []corev1.LocalObjectReference
	for _, s := range slices.Concat(defaults, own) {
		if !slices.ContainsFunc(out, func(have corev1.LocalObjectReference) bool { return have.Name == s.Name }) {
			out = append(out, s)
		}
	}
	return out
}
