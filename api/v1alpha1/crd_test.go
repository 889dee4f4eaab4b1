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

package v1alpha1_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// TestCRDsInstalled checks the CRDs the API server serves: names, short names, category, status subresource and
// printer columns.
func TestCRDsInstalled(t *testing.T) {
	want := map[string]struct {
		shortName string
		columns   []string
	}{
		"transferendpoints.transfer.pier.dev": {"te", []string{"Protocols", "Address", "Users", "Ready", "Reason", "Message", "Age",
			"Replicas", "Available", "Users Not Ready", "TLS Expires", "Service"}},
		"transferusers.transfer.pier.dev": {"tu", []string{"Endpoint", "Username", "Access", "Ready", "Reason", "Message", "Age",
			"Disabled"}},
	}
	for name, w := range want {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := env.Client.Get(context.Background(), clientKey(name), crd); err != nil {
			t.Fatalf("CRD %s is not installed: %v", name, err)
		}
		if !slices.Contains(crd.Spec.Names.ShortNames, w.shortName) {
			t.Errorf("%s: short names %v, want %q", name, crd.Spec.Names.ShortNames, w.shortName)
		}
		if !slices.Contains(crd.Spec.Names.Categories, "pier") {
			t.Errorf("%s: categories %v, want pier", name, crd.Spec.Names.Categories)
		}
		if crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
			t.Errorf("%s: scope %s, want Namespaced", name, crd.Spec.Scope)
		}
		if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != "v1alpha1" {
			t.Fatalf("%s: versions %v, want only v1alpha1", name, crd.Spec.Versions)
		}
		v := crd.Spec.Versions[0]
		if v.Subresources == nil || v.Subresources.Status == nil {
			t.Fatalf("%s: no status subresource", name)
		}
		checkScale(t, name, v.Subresources.Scale)
		columns := make([]string, 0, len(v.AdditionalPrinterColumns))
		for _, c := range v.AdditionalPrinterColumns {
			columns = append(columns, c.Name)
		}
		if !slices.Equal(columns, w.columns) {
			t.Errorf("%s: printer columns %v, want %v", name, columns, w.columns)
		}
		for _, c := range v.AdditionalPrinterColumns {
			if want, ok := statusColumns[c.Name]; ok && (c.JSONPath != want.path || c.Type != want.typ) {
				t.Errorf("%s: column %s is %s %s, want %s %s", name, c.Name, c.Type, c.JSONPath, want.typ, want.path)
			}
		}
		established := false
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				established = true
			}
		}
		if !established {
			t.Errorf("%s: not Established", name)
		}
	}
}

// checkScale: kubectl scale and a HorizontalPodAutoscaler work on endpoints, which have replicas; users have none.
func checkScale(t *testing.T, crd string, scale *apiextensionsv1.CustomResourceSubresourceScale) {
	t.Helper()
	wantScale := crd == "transferendpoints.transfer.pier.dev"
	if (scale != nil) != wantScale {
		t.Errorf("%s: scale subresource %+v, want one: %v", crd, scale, wantScale)
		return
	}
	if wantScale && (scale.SpecReplicasPath != ".spec.replicas" || scale.StatusReplicasPath != ".status.replicas" ||
		scale.LabelSelectorPath == nil || *scale.LabelSelectorPath != ".status.selector") {
		t.Errorf("%s: scale subresource %+v, want spec.replicas, status.replicas and status.selector", crd, scale)
	}
}

// statusColumns are the printer columns read from the status, with the JSONPath and type each must have.
var statusColumns = map[string]struct{ path, typ string }{
	"Users":   {".status.users", "integer"},
	"Ready":   {`.status.conditions[?(@.type=="Ready")].status`, "string"},
	"Reason":  {`.status.conditions[?(@.type=="Ready")].reason`, "string"},
	"Message": {`.status.conditions[?(@.type=="Ready")].message`, "string"},
	// A string: a date column would print a time still to come as <invalid>.
	"TLS Expires":     {".status.tls.notAfter", "string"},
	"Available":       {".status.availableReplicas", "integer"},
	"Users Not Ready": {".status.userReadiness.notReady", "integer"},
}

// TestSamplesAccepted creates every object under config/samples/ in a fresh namespace.
func TestSamplesAccepted(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(controlplane.RepoRoot(), "config", "samples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	created := 0
	for _, file := range files {
		if filepath.Base(file) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range splitYAML(string(data)) {
			if err := create(t, doc, ns); err != nil {
				t.Errorf("sample %s was rejected: %v", filepath.Base(file), err)
			}
			created++
		}
	}
	if created < 4 {
		t.Fatalf("created %d sample objects, want at least 4 (config/samples/ holds an endpoint and a user of each kind)", created)
	}
}

// TestSamplesListedInKustomization keeps config/samples/kustomization.yaml in step with the sample files.
func TestSamplesListedInKustomization(t *testing.T) {
	dir := filepath.Join(controlplane.RepoRoot(), "config", "samples")
	kustomization, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, file := range files {
		base := filepath.Base(file)
		if base != "kustomization.yaml" && !strings.Contains(string(kustomization), "- "+base) {
			t.Errorf("%s is not listed in config/samples/kustomization.yaml", base)
		}
	}
}

// TestEveryFieldDocumented walks both CRDs' schemas: every field must carry a description, which is what
// `kubectl explain` shows.
func TestEveryFieldDocumented(t *testing.T) {
	for _, crd := range env.CRDs {
		if crd.Spec.Group != "transfer.pier.dev" { // cert-manager's, installed for the samples
			continue
		}
		schema := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
		var missing []string
		var walk func(path string, s *apiextensionsv1.JSONSchemaProps)
		walk = func(path string, s *apiextensionsv1.JSONSchemaProps) {
			for name, prop := range s.Properties {
				p := path + "." + name
				// The API server serves metadata with ObjectMeta's own documentation.
				if p == crd.Spec.Names.Kind+".metadata" {
					continue
				}
				if strings.TrimSpace(prop.Description) == "" {
					missing = append(missing, p)
				}
				walk(p, &prop)
			}
			if s.Items != nil && s.Items.Schema != nil {
				walk(path+"[]", s.Items.Schema)
			}
			if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
				walk(path+"{}", s.AdditionalProperties.Schema)
			}
		}
		walk(crd.Spec.Names.Kind, schema)
		slices.Sort(missing)
		for _, m := range missing {
			t.Errorf("%s has no description (kubectl explain would show nothing)", m)
		}
	}
}
