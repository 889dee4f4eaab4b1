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

	"github.com/pier-dev/pier/api/v1alpha1"
)

// TestPodDefaultsPrecedence checks, field by field, that the endpoint's own setting wins and that the defaults fill
// in what it leaves empty.
func TestPodDefaultsPrecedence(t *testing.T) {
	defaults := platformDefaults()
	own := v1alpha1.PodTemplateSpec{
		NodeSelector:      map[string]string{"team": "a"},
		Tolerations:       []corev1.Toleration{{Key: "team-a", Operator: corev1.TolerationOpExists}},
		PriorityClassName: "team-a-low",
		ImagePullSecrets:  []corev1.LocalObjectReference{{Name: "team-a-registry"}},
	}
	cases := []struct {
		name     string
		template v1alpha1.PodTemplateSpec
		defaults PodDefaults
		want     corev1.PodSpec
	}{{
		name: "no defaults, nothing set: the fields stay empty",
	}, {
		name:     "no defaults: the endpoint's own",
		template: own,
		want: corev1.PodSpec{NodeSelector: own.NodeSelector, Tolerations: own.Tolerations,
			PriorityClassName: own.PriorityClassName, ImagePullSecrets: own.ImagePullSecrets},
	}, {
		name:     "nothing set: the defaults",
		defaults: defaults,
		want: corev1.PodSpec{NodeSelector: defaults.NodeSelector, Tolerations: defaults.Tolerations,
			PriorityClassName: defaults.PriorityClassName, ImagePullSecrets: defaults.ImagePullSecrets},
	}, {
		name:     "everything set: the endpoint's own, and both pull secrets, the defaults' first",
		template: own,
		defaults: defaults,
		want: corev1.PodSpec{NodeSelector: own.NodeSelector, Tolerations: own.Tolerations,
			PriorityClassName: own.PriorityClassName,
			ImagePullSecrets:  []corev1.LocalObjectReference{{Name: "registry-mirror"}, {Name: "team-a-registry"}}},
	}, {
		name:     "a nodeSelector is replaced as a whole, not merged key by key",
		template: v1alpha1.PodTemplateSpec{NodeSelector: map[string]string{"team": "a"}},
		defaults: defaults,
		want: corev1.PodSpec{NodeSelector: map[string]string{"team": "a"}, Tolerations: defaults.Tolerations,
			PriorityClassName: defaults.PriorityClassName, ImagePullSecrets: defaults.ImagePullSecrets},
	}, {
		name: "a pull secret named in both is listed once",
		template: v1alpha1.PodTemplateSpec{ImagePullSecrets: []corev1.LocalObjectReference{
			{Name: "registry-mirror"}, {Name: "b"}, {Name: "b"}}},
		defaults: PodDefaults{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry-mirror"}}},
		want:     corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry-mirror"}, {Name: "b"}}},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			te := sftpMinimal()
			te.Spec.PodTemplate = c.template
			got := Deployment(te, DeploymentInputs{Image: testImage, PodDefaults: c.defaults}).Spec.Template.Spec
			check := func(field string, want, got any) {
				if !equality.Semantic.DeepEqual(want, got) {
					t.Errorf("%s = %+v, want %+v", field, got, want)
				}
			}
			check("nodeSelector", c.want.NodeSelector, got.NodeSelector)
			check("tolerations", c.want.Tolerations, got.Tolerations)
			check("priorityClassName", c.want.PriorityClassName, got.PriorityClassName)
			check("imagePullSecrets", c.want.ImagePullSecrets, got.ImagePullSecrets)
		})
	}
}

// TestPodDefaultsChangeTheDeployment: a change of the defaults must change the rendered Deployment (so its
// spec-hash, and the pods roll when the manager restarts with new defaults), and rendering must not hand out the
// defaults' own slices and maps, which every endpoint shares.
func TestPodDefaultsChangeTheDeployment(t *testing.T) {
	defaults := platformDefaults()
	before := Deployment(sftpMinimal(), DeploymentInputs{Image: testImage, PodDefaults: defaults})
	if equality.Semantic.DeepEqual(before.Spec, Deployment(sftpMinimal(), DeploymentInputs{Image: testImage}).Spec) {
		t.Fatal("the defaults did not change the Deployment")
	}
	changed := platformDefaults()
	changed.NodeSelector["node.example.com/pool"] = "transfer-v2"
	after := Deployment(sftpMinimal(), DeploymentInputs{Image: testImage, PodDefaults: changed})
	if equality.Semantic.DeepEqual(before.Spec, after.Spec) {
		t.Fatal("a changed default nodeSelector did not change the Deployment")
	}

	pod := &before.Spec.Template.Spec
	pod.NodeSelector["node.example.com/pool"] = "edited"
	pod.Tolerations[0].Value = "edited"
	pod.ImagePullSecrets[0].Name = "edited"
	if !equality.Semantic.DeepEqual(defaults, platformDefaults()) {
		t.Fatalf("editing a rendered Deployment changed the shared defaults: %+v", defaults)
	}
}

func TestParsePodDefaults(t *testing.T) {
	good := `
imagePullSecrets:
- name: registry-mirror
tolerations:
- key: dedicated
  operator: Equal
  value: transfer
  effect: NoSchedule
- key: node.kubernetes.io/unreachable
  operator: Exists
  effect: NoExecute
  tolerationSeconds: 30
nodeSelector:
  node.example.com/pool: transfer
priorityClassName: transfer-critical
`
	d, err := ParsePodDefaults([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if d.ImagePullSecrets[0].Name != "registry-mirror" || len(d.Tolerations) != 2 || *d.Tolerations[1].TolerationSeconds != 30 ||
		d.NodeSelector["node.example.com/pool"] != "transfer" || d.PriorityClassName != "transfer-critical" {
		t.Fatalf("parsed %+v", d)
	}
	for _, empty := range []string{"", "{}\n", "# nothing yet\n"} {
		if d, err := ParsePodDefaults([]byte(empty)); err != nil || !equality.Semantic.DeepEqual(d, PodDefaults{}) {
			t.Errorf("ParsePodDefaults(%q) = %+v, %v; want no defaults", empty, d, err)
		}
	}

	bad := []struct{ name, yaml, want string }{
		{"a misspelt field", "toleration:\n- key: a\n", `unknown field "toleration"`},
		{"a list for a map", "nodeSelector: [a]\n", "nodeSelector"},
		{"a pull secret name", "imagePullSecrets:\n- name: Not_A_Name\n", `imagePullSecrets[0].name "Not_A_Name"`},
		{"a node selector key", "nodeSelector:\n  'bad key': x\n", `nodeSelector key "bad key"`},
		{"a node selector value", "nodeSelector:\n  pool: 'a b'\n", `nodeSelector["pool"] value "a b"`},
		{"a priority class", "priorityClassName: High\n", `priorityClassName "High"`},
		{"Equal without a key", "tolerations:\n- value: x\n", "tolerations[0]: operator Equal (the default) needs a key"},
		{"Exists with a value", "tolerations:\n- key: a\n  operator: Exists\n  value: x\n", "operator Exists takes no value"},
		{"an unknown operator", "tolerations:\n- key: a\n  operator: In\n", `operator "In"`},
		{"an unknown effect", "tolerations:\n- key: a\n  effect: NoEntry\n", `effect "NoEntry"`},
		{"tolerationSeconds without NoExecute", "tolerations:\n- key: a\n  effect: NoSchedule\n  tolerationSeconds: 5\n",
			"tolerationSeconds needs effect NoExecute"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePodDefaults([]byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ParsePodDefaults(%q) = %v, want an error containing %q", c.yaml, err, c.want)
			}
		})
	}
}
