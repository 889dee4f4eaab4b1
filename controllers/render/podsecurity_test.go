/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package render

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
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

// restrictedViolations lists what in spec breaks the restricted Pod Security Standard
// (https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted), or pier's own rules:
// read-only root file system and unprivileged container ports.
func restrictedViolations(spec corev1.PodSpec) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		add("pod: uses host namespaces")
	}
	pod := spec.SecurityContext
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	if pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		add("pod: seccompProfile is not RuntimeDefault")
	}
	if pod.RunAsUser != nil && *pod.RunAsUser == 0 {
		add("pod: runAsUser 0")
	}
	if len(pod.Sysctls) > 0 {
		add("pod: sets sysctls")
	}
	allowedVolume := func(v corev1.Volume) bool {
		s := v.VolumeSource
		return s.ConfigMap != nil || s.CSI != nil || s.DownwardAPI != nil || s.EmptyDir != nil ||
			s.Ephemeral != nil || s.PersistentVolumeClaim != nil || s.Projected != nil || s.Secret != nil
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil || !allowedVolume(v) {
			add("volume %s: type not allowed", v.Name)
		}
	}
	containers := slices.Concat(spec.InitContainers, spec.Containers)
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		if sc.Privileged != nil && *sc.Privileged {
			add("container %s: privileged", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			add("container %s: allowPrivilegeEscalation is not false", c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			add("container %s: does not drop ALL capabilities", c.Name)
		} else if len(sc.Capabilities.Add) > 0 {
			add("container %s: adds capabilities %v", c.Name, sc.Capabilities.Add)
		}
		runAsNonRoot := pod.RunAsNonRoot
		if sc.RunAsNonRoot != nil {
			runAsNonRoot = sc.RunAsNonRoot
		}
		if runAsNonRoot == nil || !*runAsNonRoot {
			add("container %s: runAsNonRoot is not true", c.Name)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			add("container %s: runAsUser 0", c.Name)
		}
		if sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
			add("container %s: seccompProfile Unconfined", c.Name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			add("container %s: root file system is writable", c.Name)
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				add("container %s: port %s uses hostPort %d", c.Name, p.Name, p.HostPort)
			}
			if p.ContainerPort < 1024 {
				add("container %s: port %s is privileged (%d)", c.Name, p.Name, p.ContainerPort)
			}
		}
	}
	return problems
}
