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
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// TestRestrictedPodSecurity checks every Deployment against the restricted Pod Security Standard, plus the
// read-only root file system pier asks for.
func TestRestrictedPodSecurity(t *testing.T) {
	for _, c := range allEndpoints() {
		t.Run(c.name, func(t *testing.T) {
			d := Deployment(c.endpoint, DeploymentInputs{Image: testImage})
			for _, problem := range restrictedViolations(d.Spec.Template.Spec) {
				t.Error(problem)
			}
		})
	}
}

// restrictedViolations lists what in spec breaks the restricted Pod Security Standard, as the API server's own
// Pod Security admission evaluates it (k8s.io/pod-security-admission, latest version of the standard), and pier's
// own rules on top: a read-only root file system and unprivileged container ports.
func restrictedViolations(spec corev1.PodSpec) []string {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return []string{fmt.Sprintf("building the Pod Security evaluator: %v", err)}
	}
	var problems []string
	level := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	for _, result := range evaluator.EvaluatePod(level, &metav1.ObjectMeta{}, &spec) {
		if !result.Allowed {
			problems = append(problems, fmt.Sprintf("restricted: %s: %s", result.ForbiddenReason, result.ForbiddenDetail))
		}
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			problems = append(problems, fmt.Sprintf("container %s: root file system is writable", c.Name))
		}
		for _, p := range c.Ports {
			if p.ContainerPort < 1024 {
				problems = append(problems, fmt.Sprintf("container %s: port %s is privileged (%d)", c.Name, p.Name, p.ContainerPort))
			}
		}
	}
	return problems
}

// TestRestrictedCheckerCatchesViolations makes sure the checker above can fail.
func TestRestrictedCheckerCatchesViolations(t *testing.T) {
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x",
		Ports: []corev1.ContainerPort{{Name: "ftp", ContainerPort: 21}}}}}
	problems := restrictedViolations(spec)
	for _, want := range []string{"allowPrivilegeEscalation", "runAsNonRoot", "seccompProfile", "root file system", "privileged (21)"} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("no problem mentions %q in %v", want, problems)
		}
	}
}
