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
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// overlayNamespaces are the example namespaces of config/namespaced, which users replace with theirs.
var overlayNamespaces = []string{"team-a", "team-b"}

// TestNamespacedOverlay: config/namespaced is config/default with --watch-namespaces, a RoleBinding of the
// manager's rules in each of those namespaces and no ClusterRoleBinding of them; everything else is the same, and
// the API server takes all of it (test/tenancy runs the manager with exactly this RBAC).
func TestNamespacedOverlay(t *testing.T) {
	objs := readObjects(t, kustomizeBuild(t, filepath.Join(controlplane.RepoRoot(), "config", "namespaced")))
	base := installObjects(t)

	d := &appsv1.Deployment{}
	fromUnstructured(t, find(t, objs, "Deployment", deploymentName), d)
	if args := d.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--watch-namespaces=team-a,team-b") {
		t.Errorf("the manager's args %q lack --watch-namespaces=team-a,team-b", args)
	}

	var bindings []string
	for _, o := range objs {
		switch {
		case o.GetKind() == "ClusterRoleBinding" && o.GetName() == "pier-manager-rolebinding":
			t.Errorf("ClusterRoleBinding pier-manager-rolebinding is still there: the manager's rules would apply everywhere")
		case o.GetKind() == "RoleBinding" && o.GetName() == "pier-manager-rolebinding":
			b := &rbacv1.RoleBinding{}
			fromUnstructured(t, o, b)
			want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: serviceAccount, Namespace: namespace}}
			if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != "pier-manager-role" || !slices.Equal(b.Subjects, want) {
				t.Errorf("RoleBinding %s/%s grants %+v to %+v", b.Namespace, b.Name, b.RoleRef, b.Subjects)
			}
			bindings = append(bindings, b.Namespace)
		}
	}
	if !slices.Equal(bindings, overlayNamespaces) {
		t.Errorf("the manager's rules are bound in %q, want %q", bindings, overlayNamespaces)
	}
	// The one cluster-scoped rule, reading cert-manager's Certificate CRD by name, is bound cluster-wide alone.
	reader := &rbacv1.ClusterRole{}
	fromUnstructured(t, find(t, objs, "ClusterRole", "pier-manager-crd-reader"), reader)
	if len(reader.Rules) != 1 || !slices.Equal(reader.Rules[0].Resources, []string{"customresourcedefinitions"}) ||
		!slices.Equal(reader.Rules[0].ResourceNames, []string{"certificates.cert-manager.io"}) {
		t.Errorf("ClusterRole pier-manager-crd-reader grants %+v, want only reading the Certificate CRD", reader.Rules)
	}
	find(t, objs, "ClusterRoleBinding", "pier-manager-crd-reader")
	// Nothing else changes: the same objects as config/default, less one binding, plus one per namespace and the
	// CRD reader's role and binding.
	if len(objs) != len(base)-1+len(overlayNamespaces)+2 {
		t.Errorf("config/namespaced builds %d objects, config/default %d", len(objs), len(base))
	}

	// The namespaces exist before the overlay is applied (the RoleBindings need them).
	withNamespaces := make([]*unstructured.Unstructured, 0, len(overlayNamespaces)+len(objs))
	for _, ns := range overlayNamespaces {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("Namespace")
		u.SetName(ns)
		withNamespaces = append(withNamespaces, u)
	}
	withNamespaces = append(withNamespaces, objs...)
	if warnings := install(t, withNamespaces); len(warnings) > 0 {
		t.Errorf("the API server warned:%s", joinLines(warnings))
	}
}
