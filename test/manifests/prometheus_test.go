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
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// serviceMonitorCRD is the ServiceMonitor CRD of the prometheus-operator release the component is checked against.
func serviceMonitorCRD(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	file, err := controlplane.ServiceMonitorCRDFile()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	objs := readObjects(t, data)
	if len(objs) != 1 || objs[0].GetKind() != "CustomResourceDefinition" {
		t.Fatalf("%s does not hold one CRD", file)
	}
	return objs[0]
}

// TestPrometheusComponent builds config/prometheus both ways docs/install.md describes, and applies each result
// to an API server that has the Prometheus Operator's ServiceMonitor CRD: the ServiceMonitor must be accepted and
// must scrape the metrics Service's https port.
func TestPrometheusComponent(t *testing.T) {
	config := filepath.Join(controlplane.RepoRoot(), "config")
	cases := []struct {
		name, dir, monitor string
	}{
		// A kustomization of one's own, next to config/default (here with relative paths; URLs work the same).
		{"own kustomization", ownKustomization(t, config, "prometheus"), "controller-manager-metrics-monitor"},
		// config/default with its commented components: lines enabled; it prefixes the name like everything else.
		{"config/default", defaultWithComponent(t, config), "pier-controller-manager-metrics-monitor"},
	}
	crd := serviceMonitorCRD(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := readObjects(t, kustomizeBuild(t, c.dir))
			monitor := find(t, objs, "ServiceMonitor", c.monitor)
			if monitor.GetNamespace() != namespace {
				t.Errorf("the ServiceMonitor is in namespace %q, want %q", monitor.GetNamespace(), namespace)
			}
			checkMonitorScrapesService(t, monitor, find(t, objs, "Service", metricsService))
			if warnings := install(t, append([]*unstructured.Unstructured{crd}, objs...)); len(warnings) > 0 {
				t.Errorf("the API server warned:%s", joinLines(warnings))
			}
		})
	}
}

// ownKustomization writes, in a temporary folder, the kustomization docs/install.md shows: config/default as a
// resource and the folders of config named by components (such as prometheus) as components, in that order.
// Kustomize refuses absolute paths, so they are relative.
func ownKustomization(t *testing.T, config string, components ...string) string {
	t.Helper()
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, config)
	if err != nil {
		t.Fatal(err)
	}
	kustomization := fmt.Sprintf("resources:\n- %s/default\ncomponents:\n", rel)
	for _, c := range components {
		kustomization += fmt.Sprintf("- %s/%s\n", rel, c)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// defaultWithComponent copies config/ into a temporary folder and uncomments the component in config/default, as
// its comment tells users to; it returns the copy's default folder.
func defaultWithComponent(t *testing.T, config string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "config")
	if err := os.CopyFS(dir, os.DirFS(config)); err != nil {
		t.Fatal(err)
	}
	uncomment(t, filepath.Join(dir, "default", "kustomization.yaml"), "#components:\n#- ../prometheus\n")
	return filepath.Join(dir, "default")
}

// uncomment removes the leading # of the lines commented in file, which must hold them: they are the lines
// docs/install.md tells users to uncomment.
func uncomment(t *testing.T, file, commented string) {
	t.Helper()
	content, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(content), commented) {
		t.Fatalf("%s no longer has the lines docs/install.md tells users to uncomment:\n%s", file, commented)
	}
	enabled := strings.Replace(string(content), commented, strings.ReplaceAll("\n"+commented, "\n#", "\n")[1:], 1)
	if err := os.WriteFile(file, []byte(enabled), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkMonitorScrapesService: the ServiceMonitor selects the Service by its labels and scrapes its https port over
// HTTPS with the service account token, which the manager's authenticated metrics endpoint requires.
func checkMonitorScrapesService(t *testing.T, monitor, service *unstructured.Unstructured) {
	t.Helper()
	selector, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
	if len(selector) == 0 || !labels.SelectorFromSet(selector).Matches(labels.Set(service.GetLabels())) {
		t.Errorf("the ServiceMonitor's selector %v does not select the metrics Service %v", selector, service.GetLabels())
	}
	svc := &corev1.Service{}
	fromUnstructured(t, service, svc)
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("want one endpoint, got %v", endpoints)
	}
	e := endpoints[0].(map[string]any)
	if e["port"] != svc.Spec.Ports[0].Name || e["scheme"] != "https" || e["path"] != "/metrics" {
		t.Errorf("the ServiceMonitor scrapes %v://:%v%v, want https://:%s/metrics", e["scheme"], e["port"], e["path"],
			svc.Spec.Ports[0].Name)
	}
	if e["bearerTokenFile"] != "/var/run/secrets/kubernetes.io/serviceaccount/token" {
		t.Errorf("the ServiceMonitor sends no service account token: %v", e)
	}
}
