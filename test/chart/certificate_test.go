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
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	endpointrender "github.com/pier-dev/pier/internal/controller/render"
)

// TestMetricsCertificate checks that metrics.certificate's pieces agree: the Certificate is for the metrics
// Service's in-cluster name, the manager serves the Secret it writes (--metrics-cert-path), and the ServiceMonitor
// verifies that name against the Secret's CA, with no insecureSkipVerify and no private key of its own.
func TestMetricsCertificate(t *testing.T) {
	for _, c := range []struct {
		name      string
		flags     []string
		issuerRef map[string]string
	}{
		{"own issuer", valueSets[4].flags, map[string]string{"name": "platform-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}},
		{"self-signed", []string{"--set", "metrics.certificate.enabled=true", "--set", "metrics.serviceMonitor.enabled=true"},
			map[string]string{"name": "pier-metrics-selfsigned", "kind": "Issuer", "group": "cert-manager.io"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs := render(t, c.flags...)
			var cert unstructured.Unstructured
			one(t, objs, "Certificate", "pier-metrics", &cert.Object)
			issuerRef, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
			if !reflect.DeepEqual(issuerRef, c.issuerRef) {
				t.Errorf("issuerRef %v, want %v", issuerRef, c.issuerRef)
			}
			issuers := find(objs, "Issuer")
			if selfSigned := c.issuerRef["kind"] == "Issuer"; selfSigned != (len(issuers) == 1) {
				t.Errorf("%d Issuers rendered for issuerRef %v", len(issuers), c.issuerRef)
			}
			for _, issuer := range issuers {
				if issuer.GetName() != c.issuerRef["name"] {
					t.Errorf("Issuer %s rendered, the Certificate names %s", issuer.GetName(), c.issuerRef["name"])
				}
			}
			serverName := "pier-metrics." + namespace + ".svc"
			dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
			if !slices.Contains(dnsNames, serverName) {
				t.Errorf("dnsNames %v lack the metrics Service's %s", dnsNames, serverName)
			}
			secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
			checkServesSecret(t, deployment(t, objs), secretName)

			var sm unstructured.Unstructured
			one(t, objs, "ServiceMonitor", "pier", &sm.Object)
			endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			tlsConfig, _ := endpoints[0].(map[string]any)["tlsConfig"].(map[string]any)
			ca, _, _ := unstructured.NestedStringMap(tlsConfig, "ca", "secret")
			if tlsConfig["serverName"] != serverName || ca["name"] != secretName || ca["key"] != "ca.crt" {
				t.Errorf("the ServiceMonitor verifies %v against %v, want %s against ca.crt of %s", tlsConfig["serverName"], ca,
					serverName, secretName)
			}
			for _, key := range []string{"insecureSkipVerify", "keySecret", "cert"} {
				if _, ok := tlsConfig[key]; ok {
					t.Errorf("the ServiceMonitor's tlsConfig has %s: %v", key, tlsConfig)
				}
			}
		})
	}

	// Without it, nothing of it renders and the ServiceMonitor cannot verify the self-signed certificate.
	objs := render(t, valueSets[3].flags...)
	if n := len(find(objs, "Certificate")) + len(find(objs, "Issuer")); n != 0 {
		t.Errorf("%d cert-manager objects rendered without metrics.certificate", n)
	}
	if args := deployment(t, objs).Spec.Template.Spec.Containers[0].Args; slices.ContainsFunc(args, func(a string) bool {
		return strings.HasPrefix(a, "--metrics-cert-path")
	}) {
		t.Errorf("args %q name a metrics certificate", args)
	}
}

// checkServesSecret: the manager's --metrics-cert-path is where the Secret secretName is mounted.
func checkServesSecret(t *testing.T, d *appsv1.Deployment, secretName string) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	var certPath, volume string
	for _, arg := range c.Args {
		if p, ok := strings.CutPrefix(arg, "--metrics-cert-path="); ok {
			certPath = p
		}
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secretName {
			volume = v.Name
		}
	}
	if certPath == "" || volume == "" || !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == volume && m.MountPath == certPath
	}) {
		t.Errorf("Secret %s (volume %q) is not mounted at --metrics-cert-path %q: %+v", secretName, volume, certPath, c.VolumeMounts)
	}
}

// checkEndpointDefaults: the ConfigMap the manager reads with --endpoint-defaults is mounted where the flag says,
// parses with the manager's own parser into want, and its checksum on the pod template differs from the default
// values' one, so a change of the defaults restarts the manager.
func checkEndpointDefaults(t *testing.T, objs []*unstructured.Unstructured, d *appsv1.Deployment, want endpointrender.PodDefaults) {
	t.Helper()
	var cm corev1.ConfigMap
	one(t, objs, "ConfigMap", d.Name+"-endpoint-defaults", &cm)
	got, err := endpointrender.ParsePodDefaults([]byte(cm.Data["endpoint-defaults.yaml"]))
	if err != nil {
		t.Fatalf("the manager refuses the chart's endpoint defaults: %v\n%s", err, cm.Data["endpoint-defaults.yaml"])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("endpoint defaults %+v, want %+v", got, want)
	}
	spec := d.Spec.Template.Spec
	var volume string
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
			volume = v.Name
		}
	}
	const file = "/etc/pier/endpoint-defaults/endpoint-defaults.yaml"
	if !slices.Contains(spec.Containers[0].Args, "--endpoint-defaults="+file) || !slices.ContainsFunc(spec.Containers[0].VolumeMounts,
		func(m corev1.VolumeMount) bool {
			return m.Name == volume && m.MountPath+"/endpoint-defaults.yaml" == file
		}) {
		t.Errorf("ConfigMap %s (volume %q) is not mounted where --endpoint-defaults reads: %+v", cm.Name, volume, spec.Containers[0].VolumeMounts)
	}
	const checksum = "checksum/endpoint-defaults"
	defaults := deployment(t, render(t)).Spec.Template.Annotations[checksum]
	if sum := d.Spec.Template.Annotations[checksum]; sum == "" || sum == defaults {
		t.Errorf("pod annotation %s = %q, the default values' %q: a change of the defaults would not restart the manager",
			checksum, sum, defaults)
	}
}
