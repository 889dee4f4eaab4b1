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
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// TestRBACMatchesConfig checks that the chart's roles have exactly the rules of the kustomize install's roles in
// config/rbac; role.yaml is what controller-gen writes from the controllers' +kubebuilder:rbac markers. With
// watchNamespaces, the manager's rules are Roles in those namespaces instead.
func TestRBACMatchesConfig(t *testing.T) {
	type role struct{ kind, namespace, name, file string }
	check := func(t *testing.T, objs []*unstructured.Unstructured, c role) {
		t.Helper()
		want := configRole(t, c.file)
		var got rbacv1.ClusterRole // Role and ClusterRole have the same rules field.
		if c.namespace != "" {
			oneIn(t, objs, c.kind, c.namespace, c.name, &got)
		} else {
			one(t, objs, c.kind, c.name, &got)
		}
		if len(want.Rules) == 0 || !reflect.DeepEqual(got.Rules, want.Rules) {
			t.Errorf("%s %s rules\n%+v\nwant (config/rbac/%s)\n%+v", c.kind, c.name, got.Rules, c.file, want.Rules)
		}
		// The aggregation labels are what give the role's rules to namespace users.
		for k, v := range want.Labels {
			if strings.HasPrefix(k, "rbac.authorization.k8s.io/") && got.Labels[k] != v {
				t.Errorf("%s %s lacks the label %s=%s of config/rbac/%s", c.kind, c.name, k, v, c.file)
			}
		}
	}
	objs := render(t)
	for _, c := range []role{
		{"ClusterRole", "", "pier-manager", "role.yaml"},
		{"Role", namespace, "pier-leader-election", "leader_election_role.yaml"},
		{"ClusterRole", "", "pier-metrics-auth", "metrics_auth_role.yaml"},
		{"ClusterRole", "", "pier-metrics-reader", "metrics_reader_role.yaml"},
		{"ClusterRole", "", "pier-editor", "editor_role.yaml"},
		{"ClusterRole", "", "pier-viewer", "viewer_role.yaml"},
	} {
		t.Run(c.file, func(t *testing.T) { check(t, objs, c) })
	}
	t.Run("watchNamespaces", func(t *testing.T) {
		objs := render(t, "--set", "watchNamespaces={team-a,team-b}")
		for _, ns := range []string{"team-a", "team-b"} {
			check(t, objs, role{"Role", ns, "pier-manager", "role.yaml"})
		}
	})
}

func configRole(t *testing.T, file string) *rbacv1.ClusterRole {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "config", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(content, &role); err != nil {
		t.Fatalf("config/rbac/%s: %v", file, err)
	}
	return &role
}

// TestCRDsMatchConfig checks that the CRDs the chart renders are those of config/crd/bases, with the chart's labels
// and, with crds.keep (the default), Helm's keep policy; and that crds.enabled=false renders none.
func TestCRDsMatchConfig(t *testing.T) {
	sources, err := filepath.Glob(filepath.Join(controlplane.RepoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil || len(sources) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	objs := render(t)
	rendered := find(objs, "CustomResourceDefinition")
	if len(rendered) != len(sources) {
		t.Errorf("the chart renders %d CRDs, config/crd/bases has %d: run `make manifests`", len(rendered), len(sources))
	}
	for _, src := range sources {
		content, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		var want unstructured.Unstructured
		if err := yaml.Unmarshal(content, &want.Object); err != nil {
			t.Fatal(err)
		}
		var got unstructured.Unstructured
		one(t, objs, "CustomResourceDefinition", want.GetName(), &got.Object)
		if got.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s lacks helm.sh/resource-policy: keep: %v", got.GetName(), got.GetAnnotations())
		}
		if got.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("CRD %s lacks the chart's labels: %v", got.GetName(), got.GetLabels())
		}
		// Apart from those, the CRD is config/crd/bases' own.
		annotations := got.GetAnnotations()
		delete(annotations, "helm.sh/resource-policy")
		got.SetAnnotations(annotations)
		got.SetLabels(nil)
		if !reflect.DeepEqual(got.Object, want.Object) {
			t.Errorf("the chart's CRD %s differs from config/crd/bases/%s: run `make manifests`", got.GetName(), filepath.Base(src))
		}
	}
	if crds := find(render(t, "--set", "crds.enabled=false"), "CustomResourceDefinition"); len(crds) != 0 {
		t.Errorf("crds.enabled=false renders %d CRDs", len(crds))
	}
}
