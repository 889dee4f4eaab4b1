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

package manifests

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// remoteBase is how docs/install.md refers to pier's kustomize folders: a release on GitHub.
var remoteBase = regexp.MustCompile(`https://github\.com/pier-dev/pier//(config/\w+)\?ref=[\w.]+`)

// TestInstallDocExamples builds the kustomization docs/install.md shows, with its URLs pointing at this checkout,
// checks that it does what its comments say, and applies it and the doc's other YAML examples to an API server.
func TestInstallDocExamples(t *testing.T) {
	root := controlplane.RepoRoot()
	content, err := os.ReadFile(filepath.Join(root, "docs", "install.md"))
	if err != nil {
		t.Fatal(err)
	}
	objs := []*unstructured.Unstructured{serviceMonitorCRD(t)}
	kustomizations := 0
	for _, block := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(content, -1) {
		for _, o := range readObjects(t, block[1]) {
			if o.GetKind() != "Kustomization" {
				objs = append(objs, o)
				continue
			}
			kustomizations++
			built := buildDocKustomization(t, root, block[1])
			checkDocKustomization(t, built)
			objs = append(objs, built...)
		}
	}
	if kustomizations != 1 {
		t.Fatalf("docs/install.md has %d kustomizations, want the one this test checks", kustomizations)
	}
	if warnings := install(t, objs); len(warnings) > 0 {
		t.Errorf("the API server warned:%s", joinLines(warnings))
	}
}

// buildDocKustomization writes the kustomization into a temporary folder, its remote bases replaced by relative
// paths to this checkout (kustomize refuses absolute ones), and builds it.
func buildDocKustomization(t *testing.T, root string, kustomization []byte) []*unstructured.Unstructured {
	t.Helper()
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, root)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(remoteBase.FindAll(kustomization, -1)); n != 2 {
		t.Fatalf("the kustomization should refer to config/default and config/prometheus by URL:\n%s", kustomization)
	}
	local := remoteBase.ReplaceAll(kustomization, []byte(filepath.ToSlash(rel)+"/$1"))
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), local, 0o600); err != nil {
		t.Fatal(err)
	}
	return readObjects(t, kustomizeBuild(t, dir))
}

// checkDocKustomization: both images come from the registry of the example, with the release's tag; the extra
// flag is passed; the ServiceMonitor is there.
func checkDocKustomization(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	d := &appsv1.Deployment{}
	fromUnstructured(t, find(t, objs, "Deployment", deploymentName), d)
	c := d.Spec.Template.Spec.Containers[0]
	registry, tag, ok := splitImage(c.Image, "pier-manager")
	if !ok || registry != "registry.example.com/pier" {
		t.Errorf("the manager image is %q, want registry.example.com/pier/pier-manager:VERSION", c.Image)
	}
	for _, e := range c.Env {
		if e.Name == serverImageEnv && e.Value != "registry.example.com/pier/pier-server:"+tag {
			t.Errorf("the manager deploys %q, want registry.example.com/pier/pier-server:%s", e.Value, tag)
		}
	}
	if missing := missingFrom(c.Args, "--watch-namespaces=team-a,team-b", "--server-image=$("+serverImageEnv+")"); len(missing) > 0 {
		t.Errorf("the manager's arguments %v lack %v", c.Args, missing)
	}
	find(t, objs, "ServiceMonitor", "controller-manager-metrics-monitor")
}
