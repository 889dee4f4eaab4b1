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
	"strings"
	"testing"
)

// TestTemplateRefusals checks the combinations the templates refuse, each with a message saying what to change.
func TestTemplateRefusals(t *testing.T) {
	for _, c := range []struct {
		name string
		set  []string
		want string
	}{
		{"replicas without leader election", []string{"replicaCount=2", "leaderElection.enabled=false"},
			"replicaCount is 2 but leaderElection.enabled is false"},
		{"service monitor without metrics", []string{"metrics.enabled=false", "metrics.serviceMonitor.enabled=true"},
			"metrics.serviceMonitor.enabled is true but metrics.enabled is false"},
		{"existing service account without a name", []string{"serviceAccount.create=false"},
			"serviceAccount.name is required when serviceAccount.create is false"},
		{"metrics on the probes' port", []string{"metrics.port=8081"}, "metrics.port is 8081"},
		{"a metrics certificate for plain HTTP", []string{"metrics.certificate.enabled=true", "metrics.secure=false"},
			"metrics.certificate.enabled is true but metrics are off or plain HTTP"},
		{"a metrics certificate issuer without a name", []string{"metrics.certificate.enabled=true",
			"metrics.certificate.issuerRef.kind=ClusterIssuer"}, "metrics.certificate.issuerRef has no name"},
		{"both disruption budget fields", []string{"replicaCount=2", "podDisruptionBudget.maxUnavailable=1"},
			"podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable are both set"},
		{"no disruption budget field", []string{"replicaCount=2", "podDisruptionBudget.minAvailable="},
			"neither podDisruptionBudget.minAvailable nor podDisruptionBudget.maxUnavailable is set"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"template", release, chartDir, "--kube-version", kubeVersion()}
			for _, s := range c.set {
				args = append(args, "--set", s)
			}
			_, err := helm(args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("want a failure saying %q, got %v", c.want, err)
			}
		})
	}
	// More than one replica is fine with leader election (the default).
	if _, err := helm("template", release, chartDir, "--kube-version", kubeVersion(), "--set", "replicaCount=2"); err != nil {
		t.Error(err)
	}
	// The CRDs' CEL rules call isIP and isCIDR, which Kubernetes 1.30 does not know: the chart says so first.
	_, err := helm("template", release, chartDir, "--kube-version", "1.30.9")
	if want := "chart requires kubeVersion: >= 1.31.0-0"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Kubernetes 1.30: want a failure saying %q, got %v", want, err)
	}
	if _, err := helm("template", release, chartDir, "--kube-version", "1.31.0"); err != nil {
		t.Errorf("Kubernetes 1.31: %v", err)
	}
}

// TestSchemaRefusals checks that values.schema.json stops bad values on install (helm install and template run the
// same check) with a message naming the value.
func TestSchemaRefusals(t *testing.T) {
	for _, c := range []struct {
		name, values string
		want         []string
	}{
		{"unknown pull policy", "image: {pullPolicy: Sometimes}", []string{"/image/pullPolicy", "'Always', 'IfNotPresent', 'Never'"}},
		{"unknown server pull policy", "serverImage: {pullPolicy: always}", []string{"/serverImage/pullPolicy", "'Always'"}},
		{"no replicas", "replicaCount: 0", []string{"/replicaCount", "minimum"}},
		{"replicas as a string", `replicaCount: "2"`, []string{"/replicaCount", "want integer"}},
		{"unknown log format", "logging: {format: xml}", []string{"/logging/format", "'json', 'console'"}},
		{"unknown log level", "logging: {level: warn}", []string{"/logging/level", "'debug', 'info', 'error'"}},
		{"empty image repository", `image: {repository: ""}`, []string{"/image/repository", "minLength"}},
		{"no server image repository", "serverImage: {repository: null}", []string{"/serverImage", "repository"}},
		{"misspelt value", "replicas: 2", []string{"additional properties 'replicas' not allowed"}},
		{"misspelt nested value", "metrics: {serviceMonitor: {enable: true}}", []string{"/metrics/serviceMonitor", "'enable'"}},
		{"privileged metrics port", "metrics: {port: 443}", []string{"/metrics/port", "minimum"}},
		{"bad namespace", "watchNamespaces: [Team_A]", []string{"/watchNamespaces/0", "does not match pattern"}},
		{"bad interval", "metrics: {serviceMonitor: {interval: 30}}", []string{"/metrics/serviceMonitor/interval", "want string"}},
		{"env without a name", "extraEnv: [{value: x}]", []string{"/extraEnv/0", "name"}},
		{"tag as a digest", "image: {digest: 1.2.3}", []string{"/image/digest", "does not match pattern"}},
		{"short digest", "serverImage: {digest: 'sha256:abc'}", []string{"/serverImage/digest", "does not match pattern"}},
		{"bad spread", "topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: Never}]",
			[]string{"/topologySpreadConstraints/0/whenUnsatisfiable", "'DoNotSchedule', 'ScheduleAnyway'"}},
		{"bad budget", "podDisruptionBudget: {minAvailable: half}", []string{"/podDisruptionBudget/minAvailable"}},
		{"misspelt rbac value", "rbac: {enabled: false}", []string{"/rbac", "'enabled'"}},
		{"crds as a string", "crds: {keep: 'no'}", []string{"/crds/keep", "want boolean"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "values.yaml")
			if err := os.WriteFile(file, []byte(c.values+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := helm("template", release, chartDir, "--kube-version", kubeVersion(), "-f", file)
			if err == nil {
				t.Fatalf("values %q were accepted", c.values)
			}
			msg := err.Error()
			for _, want := range append([]string{"values don't meet the specifications of the schema"}, c.want...) {
				if !strings.Contains(msg, want) {
					t.Errorf("the failure does not say %q:\n%s", want, msg)
				}
			}
		})
	}
}
