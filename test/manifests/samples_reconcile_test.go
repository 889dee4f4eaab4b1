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
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller"
	"github.com/pier-dev/pier/internal/localcluster"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/pki"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

// samplesNamespace is where TestSamplesReconcile applies the samples, as `kubectl apply -n pier-samples -k`.
const samplesNamespace = "pier-samples"

// reconcileWait bounds each wait for the operator; it reconciles the samples in about a second.
const reconcileWait = time.Minute

// TestSamplesReconcile applies config/samples for real, as `kubectl apply --server-side -k config/samples` does, to
// an API server with the CRDs of pier's install and of cert-manager, then runs the operator against them.
//
// envtest has no kubelet and no cert-manager, so two stand-ins play their parts, and nothing else is faked: the
// local issuer of `make demo` writes every Certificate's Secret (the operator's, and the one legacy-ftp's sample
// asks cert-manager for), and once the operator has done all it can without pods, the test writes each endpoint
// Deployment's status as the deployment controller does when its pods are available. Checked before that: the
// API server accepts every sample without a warning; the operator reports host keys and certificates ready and
// serves every sample user (so their Secrets resolve), and says the endpoints wait for pods. After: every
// endpoint and every user is Ready.
func TestSamplesReconcile(t *testing.T) {
	ctx := t.Context()
	k8s := samplesClient(t)
	crds := append(readObjects(t, kustomizeBuild(t, filepath.Join(controlplane.RepoRoot(), "config", "crd"))),
		certManagerCRDs(t)...)
	for _, crd := range crds {
		if err := apply(ctx, k8s, crd, false); err != nil {
			t.Fatalf("applying CRD %s: %v", crd.GetName(), err)
		}
		waitEstablished(t, k8s, crd.GetName())
	}
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(samplesNamespace)
	if err := apply(ctx, k8s, ns, false); err != nil {
		t.Fatal(err)
	}

	samples := readObjects(t, kustomizeBuild(t, samplesDir))
	applier, warnings := newClient(t)
	for _, o := range samples {
		o.SetNamespace(samplesNamespace)
		if err := apply(ctx, applier, o, false); err != nil {
			t.Fatalf("applying sample %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	if w := warnings.all(); len(w) > 0 {
		t.Errorf("the API server warned about the samples:%s", joinLines(w))
	}
	startSamplesOperator(t, k8s)

	endpoints := objectsOf(samples, "TransferEndpoint")
	users := objectsOf(samples, "TransferUser")
	if len(endpoints) == 0 || len(users) == 0 {
		t.Fatalf("the samples lack endpoints or users:%s", kinds(samples))
	}
	for _, name := range endpoints {
		te := &transferv1alpha1.TransferEndpoint{}
		poll.Until(t, "endpoint "+name+" ready but for its pods", reconcileWait, func() error {
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: samplesNamespace, Name: name}, te); err != nil {
				return err
			}
			return readyButForPods(te)
		})
	}
	for _, name := range endpoints {
		markDeploymentAvailable(t, k8s, name)
	}
	for _, name := range endpoints {
		te := &transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: samplesNamespace, Name: name}}
		if err := localcluster.WaitReady(ctx, k8s, te, reconcileWait); err != nil {
			t.Error(err)
		}
	}
	for _, name := range users {
		tu := &transferv1alpha1.TransferUser{ObjectMeta: metav1.ObjectMeta{Namespace: samplesNamespace, Name: name}}
		if err := localcluster.WaitReady(ctx, k8s, tu, reconcileWait); err != nil {
			t.Error(err)
		}
	}
}

// readyButForPods is nil when every condition that applies to te is True except Available, which is False for
// want of pods (there is no kubelet), and te serves all its users.
func readyButForPods(te *transferv1alpha1.TransferEndpoint) error {
	want := map[string]metav1.ConditionStatus{
		transferv1alpha1.ConditionUsersServed: metav1.ConditionTrue,
		transferv1alpha1.ConditionAvailable:   metav1.ConditionFalse,
	}
	if te.Spec.SFTP != nil {
		want[transferv1alpha1.ConditionHostKeysReady] = metav1.ConditionTrue
	}
	if te.Spec.FTP != nil {
		want[transferv1alpha1.ConditionTLSReady] = metav1.ConditionTrue
	}
	for condition, status := range want {
		c := meta.FindStatusCondition(te.Status.Conditions, condition)
		if c == nil || c.ObservedGeneration != te.Generation {
			return fmt.Errorf("no %s condition for generation %d yet", condition, te.Generation)
		}
		if c.Status != status {
			return fmt.Errorf("%s is %s (%s: %s), want %s", condition, c.Status, c.Reason, c.Message, status)
		}
	}
	if c := meta.FindStatusCondition(te.Status.Conditions, transferv1alpha1.ConditionAvailable); c.Reason != transferv1alpha1.ReasonPodsNotAvailable {
		return fmt.Errorf("Available is False for %s (%s), want %s: nothing else should stop it", c.Reason,
			c.Message, transferv1alpha1.ReasonPodsNotAvailable)
	}
	return nil
}

// markDeploymentAvailable writes the status the deployment controller writes once the endpoint's pods run and
// pass their readiness probe.
func markDeploymentAvailable(t *testing.T, k8s client.Client, endpoint string) {
	t.Helper()
	poll.Until(t, "Deployment "+endpoint+" marked available", reconcileWait, func() error {
		d := &appsv1.Deployment{}
		if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: samplesNamespace, Name: endpoint}, d); err != nil {
			return err
		}
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		now := metav1.Now()
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation, Replicas: replicas, UpdatedReplicas: replicas, ReadyReplicas: replicas,
			AvailableReplicas: replicas,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
				Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.",
				LastUpdateTime: now, LastTransitionTime: now}},
		}
		return k8s.Status().Update(t.Context(), d)
	})
}

// samplesClient is a client of the shared control plane that knows pier's kinds.
func samplesClient(t *testing.T) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, transferv1alpha1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return k8s
}

// startSamplesOperator runs the operator's controllers, set up as cmd/manager sets them up, and make demo's
// stand-in for cert-manager, until the test ends.
func startSamplesOperator(t *testing.T, k8s client.Client) {
	t.Helper()
	mgrCfg := rest.CopyConfig(cfg)
	opts, certManager, err := controller.ManagerOptions(mgrCfg, ctrl.Options{
		Scheme:  k8s.Scheme(),
		Metrics: metricsserver.Options{BindAddress: "0"},
		// Controller names are global to the process: a second run of the test (-count=2) registers them again.
		Controller: config.Controller{SkipNameValidation: new(true)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !certManager {
		t.Fatal("the operator does not see cert-manager's CRDs")
	}
	mgr, err := ctrl.NewManager(mgrCfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := controller.Setup(ctx, mgr, controller.Options{ServerImage: "example.test/pier-server:samples",
		CertManager: true}); err != nil {
		cancel()
		t.Fatal(err)
	}
	ca, err := pki.OpenLocalCA(t.TempDir())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	issuer := localcluster.NewIssuer(k8s, ca, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	done := make(chan error, 2)
	go func() { done <- mgr.Start(ctx) }()
	go func() { done <- issuer.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("the operator or the issuer stopped: %v", err)
			}
		}
	})
}

// objectsOf are the names of the objects of kind in objs.
func objectsOf(objs []*unstructured.Unstructured, kind string) []string {
	var names []string
	for _, o := range objs {
		if o.GetKind() == kind {
			names = append(names, o.GetName())
		}
	}
	return names
}
