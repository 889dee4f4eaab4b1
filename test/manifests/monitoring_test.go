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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// monitoringCRDs are the prometheus-operator CRDs the monitoring components need.
func monitoringCRDs(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	files, err := controlplane.MonitoringCRDFiles()
	if err != nil {
		t.Fatal(err)
	}
	crds := make([]*unstructured.Unstructured, 0, len(files))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		crds = append(crds, readObjects(t, data)...)
	}
	return crds
}

// The three monitoring components build beside config/default, land in pier-system, and are accepted by an API
// server with the prometheus-operator CRDs.
func TestMonitoringComponents(t *testing.T) {
	config := filepath.Join(controlplane.RepoRoot(), "config")
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, config)
	if err != nil {
		t.Fatal(err)
	}
	kustomization := fmt.Sprintf("resources:\n- %[1]s/default\ncomponents:\n- %[1]s/prometheus\n"+
		"- %[1]s/monitoring/podmonitor\n- %[1]s/monitoring/alerts\n- %[1]s/monitoring/dashboards\n", rel)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o600); err != nil {
		t.Fatal(err)
	}
	objs := readObjects(t, kustomizeBuild(t, dir))
	for _, want := range []struct{ kind, name string }{
		{"PodMonitor", "pier-server"}, {"PrometheusRule", "pier-alerts"}, {"ConfigMap", "grafana-dashboard"},
	} {
		o := find(t, objs, want.kind, want.name)
		if o.GetNamespace() != namespace {
			t.Errorf("%s %s is in namespace %q, want %q", want.kind, want.name, o.GetNamespace(), namespace)
		}
	}
	if got := find(t, objs, "ConfigMap", "grafana-dashboard").GetLabels(); got["grafana_dashboard"] != "1" {
		t.Errorf("the dashboard ConfigMap lacks the Grafana sidecar's label: %v", got)
	}
	if warnings := install(t, append(monitoringCRDs(t), objs...)); len(warnings) > 0 {
		t.Errorf("the API server warned:%s", joinLines(warnings))
	}
}

// The PodMonitor selects the pods the operator renders for an endpoint, and scrapes the container port that
// serves /metrics: a renamed label or port in internal/controller/render must not silently stop the scrape.
func TestPodMonitorSelectsEndpointPods(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "config", "monitoring", "podmonitor", "podmonitor.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	monitor := readObjects(t, data)[0]
	te := &v1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "partners"},
		Spec:       v1alpha1.TransferEndpointSpec{SFTP: &v1alpha1.SFTPSpec{}, Replicas: new(int32(1))},
	}
	pod := render.Deployment(te, render.DeploymentInputs{Image: "pier-server:test"}).Spec.Template

	selector, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
	if len(selector) == 0 || !labels.SelectorFromSet(selector).Matches(labels.Set(pod.Labels)) {
		t.Errorf("the PodMonitor's selector %v does not select an endpoint pod %v", selector, pod.Labels)
	}
	other := map[string]string{"app.kubernetes.io/name": "something-else", "app.kubernetes.io/managed-by": "pier-operator"}
	if labels.SelectorFromSet(selector).Matches(labels.Set(other)) {
		t.Errorf("the PodMonitor's selector %v selects pods that are not pier-server's", selector)
	}
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "podMetricsEndpoints")
	if len(endpoints) != 1 {
		t.Fatalf("want one podMetricsEndpoint, got %v", endpoints)
	}
	port := endpoints[0].(map[string]any)["port"]
	found := false
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			found = found || p.Name == port
		}
	}
	if port != render.PortNameHealth || !found {
		t.Errorf("the PodMonitor scrapes port %v; the endpoint pod serves /metrics on its %q port", port, render.PortNameHealth)
	}
	// The relabeling reads the endpoint label that the pods carry.
	if pod.Labels[render.LabelEndpoint] != te.Name {
		t.Errorf("endpoint pods carry %s=%q, want the endpoint's name", render.LabelEndpoint, pod.Labels[render.LabelEndpoint])
	}
	relabel := endpoints[0].(map[string]any)["relabelings"].([]any)[0].(map[string]any)
	if fmt.Sprint(relabel["sourceLabels"]) != "[__meta_kubernetes_pod_label_transfer_pier_dev_endpoint]" {
		t.Errorf("the relabeling reads %v, not the pods' %s label", relabel["sourceLabels"], render.LabelEndpoint)
	}
}
