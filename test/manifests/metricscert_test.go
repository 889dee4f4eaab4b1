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
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// TestMetricsCertificateComponent builds config/default with config/prometheus and config/metrics-certificate, both
// ways docs/install.md describes, and checks that the pieces agree: the Certificate is for the metrics Service's
// name, the manager serves the Secret it writes (--metrics-cert-path), and the ServiceMonitor verifies that name
// against the Secret's CA instead of skipping verification. The result must apply to an API server that has the
// ServiceMonitor and cert-manager CRDs.
func TestMetricsCertificateComponent(t *testing.T) {
	config := filepath.Join(controlplane.RepoRoot(), "config")
	cases := []struct{ name, dir, prefix string }{
		{"own kustomization", ownKustomization(t, config, "prometheus", "metrics-certificate"), ""},
		{"config/default", defaultWithComponents(t, config), "pier-"},
	}
	crds := append([]*unstructured.Unstructured{serviceMonitorCRD(t)}, certManagerCRDs(t)...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := readObjects(t, kustomizeBuild(t, c.dir))
			cert := find(t, objs, "Certificate", c.prefix+"metrics-certs")
			issuerRef, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
			if issuer := find(t, objs, issuerRef["kind"], issuerRef["name"]); issuer.GetNamespace() != cert.GetNamespace() {
				t.Errorf("Issuer %s is in %q, the Certificate in %q", issuer.GetName(), issuer.GetNamespace(), cert.GetNamespace())
			}
			dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
			secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
			serviceName := metricsService + "." + namespace + ".svc"
			if !slices.Contains(dnsNames, serviceName) {
				t.Errorf("the Certificate's dnsNames %v lack the metrics Service's %s", dnsNames, serviceName)
			}
			find(t, objs, "Service", metricsService)

			checkManagerServes(t, find(t, objs, "Deployment", "pier-controller-manager"), secretName)

			monitor := find(t, objs, "ServiceMonitor", c.prefix+"controller-manager-metrics-monitor")
			endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
			tlsConfig, _ := endpoints[0].(map[string]any)["tlsConfig"].(map[string]any)
			if skip, _ := tlsConfig["insecureSkipVerify"].(bool); skip {
				t.Errorf("the ServiceMonitor still skips verification: %v", tlsConfig)
			}
			if tlsConfig["serverName"] != serviceName {
				t.Errorf("the ServiceMonitor verifies the name %v, want %s", tlsConfig["serverName"], serviceName)
			}
			ca, _, _ := unstructured.NestedStringMap(tlsConfig, "ca", "secret")
			if ca["name"] != secretName || ca["key"] != "ca.crt" {
				t.Errorf("the ServiceMonitor trusts %v, want ca.crt of Secret %s", ca, secretName)
			}
			if _, ok := tlsConfig["keySecret"]; ok {
				t.Errorf("the ServiceMonitor is given a private key: %v", tlsConfig)
			}

			if warnings := install(t, append(slices.Clone(crds), objs...)); len(warnings) > 0 {
				t.Errorf("the API server warned:%s", joinLines(warnings))
			}
		})
	}
}

// checkManagerServes: the manager's --metrics-cert-path is where the Secret secretName is mounted.
func checkManagerServes(t *testing.T, deployment *unstructured.Unstructured, secretName string) {
	t.Helper()
	d := &appsv1.Deployment{}
	fromUnstructured(t, deployment, d)
	c := d.Spec.Template.Spec.Containers[0]
	var certPath string
	for _, arg := range c.Args {
		if p, ok := strings.CutPrefix(arg, "--metrics-cert-path="); ok {
			certPath = p
		}
	}
	if certPath == "" {
		t.Fatalf("the manager has no --metrics-cert-path: %q", c.Args)
	}
	var volume string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secretName {
			volume = v.Name
		}
	}
	for _, m := range c.VolumeMounts {
		if m.Name == volume && m.MountPath == certPath {
			return
		}
	}
	t.Errorf("Secret %s (volume %q) is not mounted at --metrics-cert-path=%s: %+v", secretName, volume, certPath, c.VolumeMounts)
}

// defaultWithComponents is defaultWithComponent with config/metrics-certificate's line uncommented as well.
func defaultWithComponents(t *testing.T, config string) string {
	t.Helper()
	dir := defaultWithComponent(t, config)
	uncomment(t, filepath.Join(dir, "kustomization.yaml"), "#- ../metrics-certificate\n")
	return dir
}
