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
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// configObject reads one object of config/monitoring.
func configObject(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "config", "monitoring", file))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &u.Object); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return u
}

func only(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	found := find(objs, kind)
	if len(found) != 1 {
		t.Fatalf("%d %s rendered, want 1", len(found), kind)
	}
	return found[0]
}

// The chart's PodMonitor, alerts and dashboard are the kustomize components' (config/monitoring): the same
// scrape, the same rules, the same dashboard, whichever way pier is installed.
func TestMonitoringMatchesConfig(t *testing.T) {
	objs := render(t, "--set", "monitoring.podMonitor.enabled=true", "--set", "monitoring.prometheusRule.enabled=true",
		"--set", "monitoring.dashboard.enabled=true")

	podMonitor := only(t, objs, "PodMonitor")
	want, _, _ := unstructured.NestedMap(configObject(t, "podmonitor/podmonitor.yaml").Object, "spec")
	got, _, _ := unstructured.NestedMap(podMonitor.Object, "spec")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the chart's PodMonitor spec\n%v\ndiffers from config/monitoring/podmonitor's\n%v", got, want)
	}

	rule := only(t, objs, "PrometheusRule")
	want, _, _ = unstructured.NestedMap(configObject(t, "alerts/prometheusrule.yaml").Object, "spec")
	got, _, _ = unstructured.NestedMap(rule.Object, "spec")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the chart's PrometheusRule spec differs from config/monitoring/alerts' (run make manifests)")
	}

	var dashboards []*unstructured.Unstructured
	for _, cm := range find(objs, "ConfigMap") {
		if _, ok, _ := unstructured.NestedString(cm.Object, "data", "pier.json"); ok {
			dashboards = append(dashboards, cm)
		}
	}
	dashboard := only(t, dashboards, "ConfigMap")
	json, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "config", "monitoring", "dashboards", "pier.json"))
	if err != nil {
		t.Fatal(err)
	}
	data, _, _ := unstructured.NestedStringMap(dashboard.Object, "data")
	if data["pier.json"]+"\n" != string(json) {
		t.Errorf("the chart's dashboard differs from config/monitoring/dashboards/pier.json (run make manifests)")
	}
	if dashboard.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("the dashboard ConfigMap lacks the sidecar's label: %v", dashboard.GetLabels())
	}
}

// With watchNamespaces, the PodMonitor looks in those namespaces only, like the manager.
func TestPodMonitorFollowsWatchNamespaces(t *testing.T) {
	objs := render(t, "--set", "monitoring.podMonitor.enabled=true", "--set", "watchNamespaces={team-a,team-b}")
	selector, _, _ := unstructured.NestedMap(only(t, objs, "PodMonitor").Object, "spec", "namespaceSelector")
	if !reflect.DeepEqual(selector, map[string]any{"matchNames": []any{"team-a", "team-b"}}) {
		t.Errorf("namespaceSelector %v, want matchNames [team-a team-b]", selector)
	}
}
