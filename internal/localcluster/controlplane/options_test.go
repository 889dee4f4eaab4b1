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

package controlplane

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CRDDir installs the CRDs of another folder instead of this tree's, and APIServerFlags reach kube-apiserver: a
// wider Service range than envtest's /24, and an audit log (what the control-plane bench counts writes with).
func TestCRDDirAndAPIServerFlags(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set (make test sets it)")
	}
	dir := t.TempDir()
	crds := filepath.Join(dir, "crds")
	if err := os.Mkdir(crds, 0o700); err != nil {
		t.Fatal(err)
	}
	users, err := os.ReadFile(filepath.Join(RepoRoot(), "config", "crd", "bases", "transfer.pier.dev_transferusers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	policy := "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  verbs: [create]\n"
	for file, data := range map[string][]byte{filepath.Join(crds, "users.yaml"): users, filepath.Join(dir, "policy.yaml"): []byte(policy)} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	auditLog := filepath.Join(dir, "audit.log")
	env, err := StartWith(Options{CRDDir: crds, APIServerFlags: map[string]string{
		"service-cluster-ip-range": "10.0.0.0/16",
		"audit-policy-file":        filepath.Join(dir, "policy.yaml"),
		"audit-log-path":           auditLog,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()

	if len(env.CRDs) != 1 || env.CRDs[0].Name != "transferusers.transfer.pier.dev" {
		names := make([]string, 0, len(env.CRDs))
		for _, c := range env.CRDs {
			names = append(names, c.Name)
		}
		t.Errorf("installed CRDs %v, want only the folder's transferusers", names)
	}
	// 10.0.200.1 is outside envtest's default 10.0.0.0/24.
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "wide", Namespace: "default"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.0.200.1", Ports: []corev1.ServicePort{{Port: 22}}}}
	if err := env.Client.Create(context.Background(), svc); err != nil {
		t.Errorf("a Service in the wider range: %v", err)
	}
	data, err := os.ReadFile(auditLog)
	if err != nil || !strings.Contains(string(data), `"resource":"services"`) {
		t.Errorf("the audit log has no create of the Service: %v\n%.2000s", err, data)
	}
}
