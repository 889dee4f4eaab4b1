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

package chart

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// TestRestrictedPodSecurity checks the manager's pod against the restricted Pod Security Standard, as the API
// server's Pod Security admission evaluates it, with every value set, plus the read-only root file system.
func TestRestrictedPodSecurity(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	level := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			objs := render(t, vs.flags...)
			specs := map[string]corev1.PodSpec{"the manager": deployment(t, objs).Spec.Template.Spec}
			var test corev1.Pod
			one(t, objs, "Pod", selftestPod(objs), &test)
			specs["helm test"] = test.Spec
			for what, spec := range specs {
				for _, result := range evaluator.EvaluatePod(level, &metav1.ObjectMeta{}, &spec) {
					if !result.Allowed {
						t.Errorf("%s: restricted: %s: %s", what, result.ForbiddenReason, result.ForbiddenDetail)
					}
				}
				for _, c := range spec.Containers {
					if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
						t.Errorf("%s: container %s: root file system is writable", what, c.Name)
					}
				}
			}
		})
	}
}

var managerBuild struct {
	once sync.Once
	path string
	err  error
}

// buildManager builds cmd/manager once for the tests that run it, into a folder removed after the tests.
func buildManager(t *testing.T) string {
	t.Helper()
	managerBuild.once.Do(func() {
		dir, err := os.MkdirTemp(helmHome, "manager-")
		if err != nil {
			managerBuild.err = err
			return
		}
		managerBuild.path = filepath.Join(dir, "manager")
		build := exec.Command("go", "build", "-o", managerBuild.path, "./cmd/manager")
		build.Dir = controlplane.RepoRoot()
		if out, err := build.CombinedOutput(); err != nil {
			managerBuild.err = fmt.Errorf("building the manager: %w\n%s", err, out)
		}
	})
	if managerBuild.err != nil {
		t.Fatal(managerBuild.err)
	}
	return managerBuild.path
}

// TestManagerAcceptsArgs runs the real manager with the command line each value set renders, followed by -help:
// Go's flag package sets every flag (refusing unknown flags and bad values) before it reaches -help and exits 0, so
// this proves the chart speaks the manager's flags without starting it.
func TestManagerAcceptsArgs(t *testing.T) {
	manager := buildManager(t)
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			c := deployment(t, render(t, vs.flags...)).Spec.Template.Spec.Containers[0]
			if !slices.Equal(c.Command, []string{"/manager"}) {
				t.Errorf("command %q, want the image's /manager", c.Command)
			}
			out, err := exec.Command(manager, append(slices.Clone(c.Args), "-help")...).CombinedOutput()
			if err != nil {
				t.Errorf("the manager refuses %q: %v\n%s", c.Args, err, out)
			}
			// The helm test Pod runs the same image and binary.
			objs := render(t, vs.flags...)
			var test corev1.Pod
			one(t, objs, "Pod", selftestPod(objs), &test)
			tc := test.Spec.Containers[0]
			if !slices.Equal(tc.Command, []string{"/manager"}) || tc.Image != c.Image || len(tc.Args) == 0 || tc.Args[0] != "selftest" {
				t.Errorf("helm test runs %q %q in %s, want /manager selftest in %s", tc.Command, tc.Args, tc.Image, c.Image)
			}
			out, err = exec.Command(manager, append(slices.Clone(tc.Args), "-help")...).CombinedOutput()
			if err != nil {
				t.Errorf("manager selftest refuses %q: %v\n%s", tc.Args, err, out)
			}
		})
	}
	// The check can fail.
	if err := exec.Command(manager, "--zap-encoder=xml", "-help").Run(); err == nil {
		t.Error("the manager accepted --zap-encoder=xml")
	}
	if err := exec.Command(manager, "selftest", "--ready-url=http://x", "--bogus", "-help").Run(); err == nil {
		t.Error("manager selftest accepted --bogus")
	}
}
