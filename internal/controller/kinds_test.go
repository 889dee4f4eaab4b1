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
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/serverconfig"
)

func gvkOf(t *testing.T, obj client.Object) schema.GroupVersionKind {
	t.Helper()
	gvk, err := apiutil.GVKForObject(obj, clientgoscheme.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	return gvk
}

// TestChildKindsHaveRBACMarkers: every kind of childKinds has a +kubebuilder:rbac marker in this package granting
// the verbs the operator needs on it (requiredVerbs); without one, config/rbac/role.yaml would not let the
// operator write the child, and every endpoint would fail on it.
func TestChildKindsHaveRBACMarkers(t *testing.T) {
	granted := rbacMarkers(t)
	for _, k := range childKinds {
		gvk := gvkOf(t, k.object())
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		resource := plural.Resource
		for _, verb := range requiredVerbs(k.traits()) {
			if !granted[gvk.Group+"/"+resource][verb] {
				t.Errorf("%s: no +kubebuilder:rbac marker grants %q on %s in group %q", gvk.Kind, verb, resource, gvk.Group)
			}
		}
	}
}

// rbacMarkers reads the +kubebuilder:rbac markers of this package's files: the verbs granted, by group/resource.
func rbacMarkers(t *testing.T) map[string]map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile(`(?m)^// \+kubebuilder:rbac:(.+)$`)
	granted := map[string]map[string]bool{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range marker.FindAllStringSubmatch(string(src), -1) {
			args := map[string][]string{}
			for _, arg := range strings.Split(m[1], ",") {
				key, value, _ := strings.Cut(arg, "=")
				args[key] = strings.Split(strings.Trim(value, `"`), ";")
			}
			for _, group := range args["groups"] {
				for _, resource := range args["resources"] {
					key := group + "/" + resource
					if granted[key] == nil {
						granted[key] = map[string]bool{}
					}
					for _, verb := range args["verbs"] {
						granted[key][verb] = true
					}
				}
			}
		}
	}
	if len(granted) == 0 {
		t.Fatal("found no +kubebuilder:rbac marker: the reader no longer matches the code")
	}
	return granted
}

// TestCacheCoversChildKinds: the manager caches every kind of childKinds only with the operator's managed-by
// label, or never caches it at all (ClientOptions); a kind missing from CacheOptions' ByObject would be cached
// cluster-wide, every object of that kind in the cluster held in the operator's memory. cert-manager's kind is
// cached only when it is installed: the cache refuses to start with an entry for a missing kind.
func TestCacheCoversChildKinds(t *testing.T) {
	uncached := map[schema.GroupVersionKind]bool{}
	for _, obj := range ClientOptions().Cache.DisableFor {
		uncached[gvkOf(t, obj)] = true
	}
	managed := labels.Set{render.LabelManagedBy: render.ManagedByValue}
	for _, certManager := range []bool{false, true} {
		selectors := map[schema.GroupVersionKind]labels.Selector{}
		for obj, by := range CacheOptions(nil, certManager).ByObject {
			selectors[gvkOf(t, obj)] = by.Label
		}
		for _, k := range childKinds {
			gvk := gvkOf(t, k.object())
			selector, cached := selectors[gvk]
			switch {
			case k.traits().certManager && !certManager:
				if cached {
					t.Errorf("%s is cached without cert-manager installed: the cache would not start", gvk.Kind)
				}
			case uncached[gvk]:
				if cached {
					t.Errorf("%s is both cached (ByObject) and read past the cache (DisableFor)", gvk.Kind)
				}
			case !cached:
				t.Errorf("%s (cert-manager installed: %v) is not in CacheOptions' ByObject: every %s of the cluster "+
					"would be cached", gvk.Kind, certManager, gvk.Kind)
			case selector == nil || !selector.Matches(managed) || selector.Matches(labels.Set{}):
				t.Errorf("%s is cached with the selector %v, not only with %v", gvk.Kind, selector, managed)
			}
		}
	}
}

// TestRenderedKindsAreChildKinds: every kind of object package render makes (the kinds of its golden files, and
// the generated password Secret) is in childKinds, so that a new render function cannot go without its entry.
func TestRenderedKindsAreChildKinds(t *testing.T) {
	known := map[schema.GroupVersionKind]bool{}
	for _, k := range childKinds {
		known[gvkOf(t, k.object())] = true
	}
	files, err := filepath.Glob(filepath.Join("render", "testdata", "*", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files of package render (%v)", err)
	}
	rendered := map[schema.GroupVersionKind]string{gvkOf(t, render.GeneratedPasswordSecret(&transferv1alpha1.TransferUser{}, "")): "GeneratedPasswordSecret"}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(data, &tm); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if tm.APIVersion == serverconfig.APIVersion {
			continue // the config file the config Secret holds, not an object of the cluster
		}
		rendered[schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)] = file
	}
	for gvk, where := range rendered {
		if !known[gvk] {
			t.Errorf("package render makes %s (%s), which is not in childKinds", gvk, where)
		}
	}
}
