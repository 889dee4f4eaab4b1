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

package gitops

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

// gitOpsManager is the field manager of the test's own writes, standing in for Argo CD or Flux applying Git.
const gitOpsManager = "gitops-tool"

// manifests are what a team keeps in Git: an endpoint and a user of it, with a label and an annotation of their
// own, which the operator must leave alone.
const manifests = `
apiVersion: transfer.pier.dev/v1alpha1
kind: TransferEndpoint
metadata:
  name: files
  labels: {team: data}
  annotations: {argocd.argoproj.io/sync-wave: "1"}
spec:
  sftp: {}
  limits: {maxConnections: 50}
---
apiVersion: transfer.pier.dev/v1alpha1
kind: TransferUser
metadata:
  name: bob
  labels: {team: data}
spec:
  endpointRef: {name: files}
  username: bob
  homeDirectory: /bob
  generatePassword: true
`

// TestOperatorWritesOnlyStatus runs the operator against objects applied the way a GitOps tool applies them
// (server-side apply), lets it reconcile them to a steady status, changes the spec and lets it reconcile again,
// and then checks what the API server recorded: every field the operator owns is in the status subresource, the
// spec and metadata are exactly what was applied, and applying Git again changes nothing. It also checks that the
// children have the fixed names docs/operator.md lists.
func TestOperatorWritesOnlyStatus(t *testing.T) {
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	// cert-manager's CRDs as in the controllers' suite: the manager's cache options name its Certificate kind.
	env, err := controlplane.StartWith(controlplane.Options{CertManagerCRDs: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	startManager(t, env)
	k8s := env.Client
	namespace := env.Namespace(t)
	objs := readManifests(t, namespace)

	applyAll(t, k8s, objs)
	te := &transferv1alpha1.TransferEndpoint{}
	tu := &transferv1alpha1.TransferUser{}
	endpointKey := client.ObjectKey{Namespace: namespace, Name: "files"}
	userKey := client.ObjectKey{Namespace: namespace, Name: "bob"}
	// No kube-controller-manager runs, so the Deployment never gets pods and the endpoint settles at
	// PodsNotAvailable; the user is served once the endpoint's config holds it, and says the endpoint has no pod.
	waitReady(t, k8s, endpointKey, te, metav1.ConditionFalse, "PodsNotAvailable")
	waitReady(t, k8s, userKey, tu, metav1.ConditionFalse, "EndpointUnavailable")

	// A change in Git: the operator reconciles generation 2.
	if err := unstructured.SetNestedField(objs[0].Object, int64(60), "spec", "limits", "maxConnections"); err != nil {
		t.Fatal(err)
	}
	applyAll(t, k8s, objs)
	waitReady(t, k8s, endpointKey, te, metav1.ConditionFalse, "PodsNotAvailable")
	if te.Generation != 2 || tu.Generation != 1 {
		t.Errorf("generations are %d and %d, want 2 (one spec change) and 1: someone else wrote a spec",
			te.Generation, tu.Generation)
	}

	for _, o := range []client.Object{te, tu} {
		checkManagedFields(t, o)
	}
	checkMetadata(t, te.ObjectMeta, objs[0])
	checkMetadata(t, tu.ObjectMeta, objs[1])

	// Applying Git again is a no-op: nothing differs between Git and the cluster.
	for i, o := range []client.Object{te, tu} {
		// Read afresh: the user's status may have settled (its message names the endpoint's pods) since it was
		// read above; only a write caused by the apply itself counts.
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatal(err)
		}
		before := o.GetResourceVersion()
		applied := objs[i].DeepCopy()
		if err := k8s.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(applied),
			client.FieldOwner(gitOpsManager)); err != nil {
			t.Fatal(err)
		}
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatal(err)
		}
		if o.GetResourceVersion() != before {
			t.Errorf("applying %s %s again changed it (resourceVersion %s -> %s)", objs[i].GetKind(), o.GetName(),
				before, o.GetResourceVersion())
		}
	}

	checkChildNames(t, k8s, namespace)
}

func startManager(t *testing.T, env *controlplane.Env) {
	t.Helper()
	opts, certManager, err := controller.ManagerOptions(env.Config, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(env.Config, opts)
	if err != nil {
		t.Fatalf("creating the manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := controller.Setup(ctx, mgr, controller.Options{ServerImage: "example.test/pier-server:test", CertManager: certManager}); err != nil {
		cancel()
		t.Fatalf("setting up the controllers: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

func readManifests(t *testing.T, namespace string) []*unstructured.Unstructured {
	t.Helper()
	docs := strings.Split(manifests, "\n---\n")
	objs := make([]*unstructured.Unstructured, 0, len(docs))
	for _, doc := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		u.SetNamespace(namespace)
		objs = append(objs, u)
	}
	return objs
}

func applyAll(t *testing.T, k8s client.Client, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.FieldOwner(gitOpsManager)); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
}

// waitReady waits until obj's Ready condition has the status and reason for its current generation.
func waitReady(t *testing.T, k8s client.Client, key client.ObjectKey, obj client.Object, status metav1.ConditionStatus, reason string) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("%T %s Ready=%s/%s", obj, key.Name, status, reason), 30*time.Second, func() error {
		if err := k8s.Get(context.Background(), key, obj); err != nil {
			return err
		}
		var conditions []metav1.Condition
		if o, ok := obj.(transferv1alpha1.Conditioned); ok {
			conditions = o.GetConditions()
		}
		c := meta.FindStatusCondition(conditions, transferv1alpha1.ConditionReady)
		if c == nil || c.Status != status || c.Reason != reason || c.ObservedGeneration != obj.GetGeneration() {
			return fmt.Errorf("Ready is %+v at generation %d", c, obj.GetGeneration())
		}
		return nil
	})
}

// checkManagedFields: every field manager other than the GitOps tool wrote through the status subresource only,
// and the operator did write there (so the check is not vacuous).
func checkManagedFields(t *testing.T, obj client.Object) {
	t.Helper()
	statusWriters := 0
	for _, entry := range obj.GetManagedFields() {
		switch {
		case entry.Manager == gitOpsManager:
			if entry.Subresource != "" {
				t.Errorf("%s: the test's own entry is on subresource %q", obj.GetName(), entry.Subresource)
			}
		case entry.Subresource == "status":
			statusWriters++
		default:
			fields := ""
			if entry.FieldsV1 != nil {
				fields = entry.FieldsV1.GetRawString()
			}
			t.Errorf("%s: manager %q wrote outside the status (operation %s, subresource %q): %s",
				obj.GetName(), entry.Manager, entry.Operation, entry.Subresource, fields)
		}
	}
	if statusWriters == 0 {
		t.Errorf("%s: no managedFields entry for the status; did the operator run?", obj.GetName())
	}
}

// checkMetadata: labels, annotations, finalizers and owner references are exactly those applied from Git.
func checkMetadata(t *testing.T, got metav1.ObjectMeta, applied *unstructured.Unstructured) {
	t.Helper()
	if !maps.Equal(got.Labels, applied.GetLabels()) {
		t.Errorf("%s: labels %v, applied %v", got.Name, got.Labels, applied.GetLabels())
	}
	if !maps.Equal(got.Annotations, applied.GetAnnotations()) {
		t.Errorf("%s: annotations %v, applied %v", got.Name, got.Annotations, applied.GetAnnotations())
	}
	if len(got.Finalizers) > 0 || len(got.OwnerReferences) > 0 {
		t.Errorf("%s: finalizers %v, owner references %v: none were applied", got.Name, got.Finalizers, got.OwnerReferences)
	}
}

// checkChildNames: the operator's children have the fixed names docs/operator.md lists, never generated ones, so
// they are the same in every cluster and after every re-creation.
func checkChildNames(t *testing.T, k8s client.Client, namespace string) {
	t.Helper()
	want := map[string][]string{
		"Deployment":     {"files"},
		"Service":        {"files"},
		"Secret":         {"bob-password", "files-config", "files-host-keys"},
		"ServiceAccount": {"files-server"},
		"Role":           {"files-server"},
		"RoleBinding":    {"files-server"},
	}
	lists := map[string]client.ObjectList{
		"Deployment": &appsv1.DeploymentList{}, "Service": &corev1.ServiceList{}, "Secret": &corev1.SecretList{},
		"ServiceAccount": &corev1.ServiceAccountList{}, "Role": &rbacv1.RoleList{}, "RoleBinding": &rbacv1.RoleBindingList{},
	}
	for kind, list := range lists {
		if err := k8s.List(context.Background(), list, client.InNamespace(namespace)); err != nil {
			t.Fatal(err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, item := range items {
			o := item.(client.Object)
			// The operator's: those it controls, and those it keeps beyond the endpoint (spec.retentionPolicy),
			// which have no owner; not the namespace's default ServiceAccount, for one.
			if metav1.GetControllerOf(o) == nil && o.GetAnnotations()["transfer.pier.dev/endpoint-uid"] == "" {
				continue
			}
			if o.GetGenerateName() != "" {
				t.Errorf("%s %s was created with generateName %q", kind, o.GetName(), o.GetGenerateName())
			}
			names = append(names, o.GetName())
		}
		slices.Sort(names)
		if !slices.Equal(names, want[kind]) {
			t.Errorf("%s children are %v, want %v", kind, names, want[kind])
		}
	}
}
