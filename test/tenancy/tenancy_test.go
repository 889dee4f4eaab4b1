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

package tenancy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

// wait bounds how long the manager may take to reconcile the workload: generous for a busy machine, never a
// measurement.
const wait = 60 * time.Second

// TestInstallRBAC runs the manager with each install's permissions and nothing else, and a workload that needs
// every permission the manager has: endpoints with generated host keys, a claim template (a PVC), two replicas (a
// PodDisruptionBudget), users with a password Secret and a generated password (a Secret the manager writes).
func TestInstallRBAC(t *testing.T) {
	for _, c := range []struct {
		name    string
		install func(t *testing.T) install
	}{
		{"chart", func(t *testing.T) install { return chartInstall(t) }},
		{"chart watchNamespaces", func(t *testing.T) install {
			a, b := env.Namespace(t), env.Namespace(t)
			return chartInstall(t, "--set", fmt.Sprintf("watchNamespaces={%s,%s}", a, b))
		}},
		{"kustomize config/default", func(t *testing.T) install { return kustomizeInstall(t, "default") }},
		{"kustomize config/namespaced", func(t *testing.T) install { return kustomizeInstall(t, "namespaced") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			inst := c.install(t)
			if strings.Contains(c.name, "amespace") && len(inst.watch) != 2 {
				t.Fatalf("the install watches %q, want two namespaces", inst.watch)
			}
			inst.apply(t)
			user := inst.identity(t)
			checkGrants(t, inst, user.Config())

			watched := inst.watch
			if len(watched) == 0 {
				watched = []string{env.Namespace(t)}
			}
			for _, ns := range watched {
				ensureNamespace(t, ns)
				createWorkload(t, ns)
			}
			var outside string
			if len(inst.watch) > 0 {
				outside = env.Namespace(t)
				createWorkload(t, outside)
			}

			m := inst.start(t, user)
			for _, ns := range watched {
				waitReconciled(t, m, ns)
			}
			if outside != "" {
				checkUntouched(t, outside)
			}
			if p := m.problems(); len(p) > 0 {
				t.Errorf("the manager logged %d errors or refused requests:\n%s", len(p), strings.Join(p, "\n"))
			}
		})
	}
}

// TestMissingPermissionIsSeen is TestInstallRBAC's own check: the namespaced chart install without one of its
// rules (Roles, which every endpoint's server gets) must show in the manager's log as refused requests.
func TestMissingPermissionIsSeen(t *testing.T) {
	a := env.Namespace(t)
	inst := chartInstall(t, "--set", "watchNamespaces={"+a+"}")
	removed := false
	for _, obj := range inst.objects {
		if obj.GetKind() != "Role" || obj.GetNamespace() != a {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(obj.Object, "rules")
		for _, r := range rules {
			rule := r.(map[string]any) // a map: the change is made in rules
			resources, _, _ := unstructured.NestedStringSlice(rule, "resources")
			if at := slices.Index(resources, "roles"); at >= 0 {
				rule["resources"] = toAny(slices.Delete(resources, at, at+1))
				removed = true
			}
		}
		if err := unstructured.SetNestedSlice(obj.Object, rules, "rules"); err != nil {
			t.Fatal(err)
		}
	}
	if !removed {
		t.Fatalf("the manager's Role in %s has no rule for roles", a)
	}
	inst.apply(t)
	user := inst.identity(t)
	createWorkload(t, a)
	m := inst.start(t, user)
	poll.Until(t, "a refused request for roles in the manager's log", wait, func() error {
		for _, line := range m.problems() {
			if strings.Contains(line, "forbidden") && strings.Contains(line, `resource \"roles\"`) {
				t.Logf("seen: %s", line)
				return nil
			}
		}
		return fmt.Errorf("no refused request for roles yet")
	})
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// checkGrants checks what the install grants the manager's identity: Secrets (the most sensitive of what it
// touches) in the watched namespaces only, or in every namespace when it watches all of them.
func checkGrants(t *testing.T, inst install, cfg *rest.Config) {
	t.Helper()
	if len(inst.watch) == 0 {
		if !can(t, cfg, "list", "", "secrets", "") {
			t.Errorf("the cluster-wide install does not let the manager list Secrets in every namespace")
		}
		return
	}
	for _, ns := range []string{"", "kube-system", inst.namespace} {
		for _, resource := range []string{"secrets", "roles"} {
			group := ""
			if resource == "roles" {
				group = rbacv1.GroupName
			}
			if can(t, cfg, "list", group, resource, ns) {
				t.Errorf("watching %q, the manager may list %s in %s", inst.watch, resource, describe(ns))
			}
		}
	}
	for _, ns := range inst.watch {
		if !can(t, cfg, "create", rbacv1.GroupName, "roles", ns) || !can(t, cfg, "list", "", "secrets", ns) {
			t.Errorf("the manager may not create Roles or list Secrets in %s, which it watches", ns)
		}
	}
}

// workload is what createWorkload creates in a namespace.
const workload = `
apiVersion: v1
kind: Secret
metadata: {name: alice-password}
stringData: {password: correct-horse-battery-staple}
---
apiVersion: transfer.pier.dev/v1alpha1
kind: TransferEndpoint
metadata: {name: files}
spec:
  sftp: {}
  storage:
    volumeClaimTemplate:
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Gi}}
---
apiVersion: transfer.pier.dev/v1alpha1
kind: TransferEndpoint
metadata: {name: shared}
spec:
  sftp: {}
  replicas: 2
  storage:
    persistentVolumeClaim: {claimName: shared-files}
---
apiVersion: transfer.pier.dev/v1alpha1
kind: TransferUser
metadata: {name: alice}
spec:
  endpointRef: {name: files}
  username: alice
  password: {secretRef: {name: alice-password, key: password}}
---
apiVersion: transfer.pier.dev/v1alpha1
kind: TransferUser
metadata: {name: bob}
spec:
  endpointRef: {name: shared}
  username: bob
  generatePassword: true
`

func createWorkload(t *testing.T, ns string) {
	t.Helper()
	for _, doc := range strings.Split(workload, "\n---\n") {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatal(err)
		}
		obj.SetNamespace(ns)
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Fatalf("creating %s %s/%s: %v", obj.GetKind(), ns, obj.GetName(), err)
		}
	}
}

// children are what the manager writes for the workload, by kind.
func children() []client.Object {
	named := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
	return []client.Object{
		&appsv1.Deployment{ObjectMeta: named("files")}, &appsv1.Deployment{ObjectMeta: named("shared")},
		&corev1.Service{ObjectMeta: named("files")}, &corev1.Service{ObjectMeta: named("shared")},
		&corev1.Secret{ObjectMeta: named("files-config")}, &corev1.Secret{ObjectMeta: named("files-host-keys")},
		&corev1.PersistentVolumeClaim{ObjectMeta: named("files-data")},
		&policyv1.PodDisruptionBudget{ObjectMeta: named("shared")},
		&corev1.ServiceAccount{ObjectMeta: named("files-server")},
		&rbacv1.Role{ObjectMeta: named("files-server")}, &rbacv1.RoleBinding{ObjectMeta: named("files-server")},
	}
}

// waitReconciled waits until the manager has done its part for the workload in ns: both endpoints' statuses
// written for their generation with host keys generated, every child written, both users' statuses written and
// bob's password generated.
func waitReconciled(t *testing.T, m *manager, ns string) {
	t.Helper()
	ctx := context.Background()
	poll.Until(t, "the workload in "+ns+" reconciled", wait, func() error {
		if p := m.problems(); len(p) > 0 {
			return fmt.Errorf("the manager logged: %s", p[0])
		}
		for _, name := range []string{"files", "shared"} {
			var te transferv1alpha1.TransferEndpoint
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &te); err != nil {
				return err
			}
			if te.Status.ObservedGeneration != te.Generation {
				return fmt.Errorf("endpoint %s: status is for generation %d of %d", name, te.Status.ObservedGeneration, te.Generation)
			}
			if !meta.IsStatusConditionTrue(te.Status.Conditions, transferv1alpha1.ConditionHostKeysReady) {
				return fmt.Errorf("endpoint %s: HostKeysReady is not True: %v", name, te.Status.Conditions)
			}
		}
		for _, obj := range children() {
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, obj); err != nil {
				return fmt.Errorf("%T %s: %w", obj, obj.GetName(), err)
			}
		}
		for _, name := range []string{"alice", "bob"} {
			var tu transferv1alpha1.TransferUser
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &tu); err != nil {
				return err
			}
			if tu.Status.ObservedGeneration != tu.Generation {
				return fmt.Errorf("user %s: status is for generation %d of %d", name, tu.Status.ObservedGeneration, tu.Generation)
			}
			if name == "bob" {
				if tu.Status.PasswordSecretRef == nil {
					return fmt.Errorf("user bob: no generated password Secret in status")
				}
				if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: tu.Status.PasswordSecretRef.Name}, &corev1.Secret{}); err != nil {
					return fmt.Errorf("user bob's generated password: %w", err)
				}
			}
		}
		return nil
	})
}

// checkUntouched checks that the manager wrote nothing in ns: no status, no child, no Secret but the workload's
// own. It runs after the watched namespaces were reconciled, so the manager had every chance to.
func checkUntouched(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	var endpoints transferv1alpha1.TransferEndpointList
	if err := env.Client.List(ctx, &endpoints, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, te := range endpoints.Items {
		if te.Status.ObservedGeneration != 0 || len(te.Status.Conditions) > 0 || len(te.Finalizers) > 0 {
			t.Errorf("endpoint %s/%s outside the watched namespaces was reconciled: %+v", ns, te.Name, te.Status)
		}
	}
	var users transferv1alpha1.TransferUserList
	if err := env.Client.List(ctx, &users, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, tu := range users.Items {
		if tu.Status.ObservedGeneration != 0 || len(tu.Status.Conditions) > 0 {
			t.Errorf("user %s/%s outside the watched namespaces was reconciled: %+v", ns, tu.Name, tu.Status)
		}
	}
	for _, obj := range children() {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, obj); err == nil {
			t.Errorf("%T %s/%s was written outside the watched namespaces", obj, ns, obj.GetName())
		}
	}
	var secrets corev1.SecretList
	if err := env.Client.List(ctx, &secrets, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		if s.Name != "alice-password" {
			t.Errorf("Secret %s/%s was written outside the watched namespaces", ns, s.Name)
		}
	}
}
