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

// Package controller holds pier's reconcilers: TransferEndpoint into a running pier-server Deployment and its
// children, TransferUser into a login on it. What the children look like is decided by the pure functions of
// internal/controller/render; this package reads the cluster, calls them, and writes only what changed.
package controller

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/ownstatus"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/controller/users"
)

// EndpointReconciler reconciles a TransferEndpoint into a pier-server Deployment, its Service, config Secret,
// host keys, certificate, storage, RBAC and disruption budget.
type EndpointReconciler struct {
	// Client reads through the manager's cache, except Secrets, which it always reads from the API server.
	client.Client
	// APIReader reads from the API server, for children the cache cannot see.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// Users resolves the endpoint's TransferUsers; the user reconciler shares it.
	Users *users.Resolver
	// ServerImage is the pier-server image the Deployment runs.
	ServerImage           string
	ServerImagePullPolicy corev1.PullPolicy
	// PodDefaults complete the server pods' scheduling fields the endpoint leaves empty.
	PodDefaults render.PodDefaults
	// certManager is true when cert-manager's Certificate kind is installed: from the start (Options.CertManager),
	// or once certManagerArrival has seen it installed later.
	certManager atomic.Bool
	// Now returns the current time; tests replace it to check certificate expiry.
	Now func() time.Time

	// statuses remembers the status writes the cache may not show yet, so that each reconcile compares what it
	// decides with the status the API server holds.
	statuses ownstatus.Tracker
	// writes remembers the reconciler's own writes of children, whose events need not run it again.
	writes *ownWrites
	// served remembers each endpoint's config Secret, parsed; the user reconciler shares it.
	served *servedConfigs
	// hostKeys remembers what the endpoints' host-key Secrets hold (hostKeyMemo).
	hostKeys hostKeyMemo
	// userEvents, when set, takes the users whose config entries a config write changed, for the user reconciler.
	userEvents chan<- event.GenericEvent
}

// The endpoint, and its server pods, which explain missing replicas. The markers of the children are beside their
// kinds in kinds.go.
// +kubebuilder:rbac:groups=transfer.pier.dev,resources=transferendpoints,verbs=get;list;watch
// +kubebuilder:rbac:groups=transfer.pier.dev,resources=transferendpoints/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch

// Reconcile brings one TransferEndpoint's children to what its spec asks for and reports the result in its status,
// written once at the end and only when it changed.
func (r *EndpointReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	s := &endpointState{te: &transferv1alpha1.TransferEndpoint{}}
	return reconcileWithStatus(ctx, r.Client, statusReads{&r.statuses, r.APIReader}, req, s.te, func() (ctrl.Result, error) {
		s.names = render.NamesFor(s.te)
		return r.reconcile(ctx, s)
	}, func() {
		r.forget(req.NamespacedName)
		r.reportRetained(ctx, req.NamespacedName)
	}, func(failure error) {
		s.writeStatus(failure)
		r.writeRetention(s, &s.te.Status)
	})
}

// forget drops what the reconciler remembers of a deleted endpoint's Secrets (their children names do not depend
// on the spec, except a host-key Secret of the user's, which is small and left).
func (r *EndpointReconciler) forget(endpoint types.NamespacedName) {
	names := render.NamesFor(&transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: endpoint.Namespace, Name: endpoint.Name},
		Spec: transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}}})
	r.served.forgetEndpoint(types.NamespacedName{Namespace: endpoint.Namespace, Name: names.ConfigSecret})
	r.hostKeys.forget(types.NamespacedName{Namespace: endpoint.Namespace, Name: names.HostKeysSecret})
}

// reconcile runs the steps of one reconcile of the endpoint; s records what they find, for its status.
func (r *EndpointReconciler) reconcile(ctx context.Context, s *endpointState) (ctrl.Result, error) {
	steps := []func(context.Context, *endpointState) error{
		r.reconcileChildren,
		r.reconcileStorage,
		r.reconcileHostKeys,
		r.reconcileTLS,
		r.reconcileService,
		r.reconcileConfig,
		r.reconcileDeployment,
	}
	// Every step runs even when one before it failed: a Service or a Certificate that cannot be applied must not
	// keep a revoked user's removal from reaching the config Secret. Each step copes with what an earlier one
	// could not provide (the config keeps the served host keys and passive addresses; the Deployment waits for a
	// config).
	var errs []error
	for _, step := range steps {
		if err := step(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return ctrl.Result{}, errors.Join(errs...)
	}
	s.complete = true
	return ctrl.Result{RequeueAfter: s.requeueAfter}, nil
}

func (r *EndpointReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// warn records a Warning event on the endpoint: something its owner must fix.
func (r *EndpointReconciler) warn(te *transferv1alpha1.TransferEndpoint, reason, message string) {
	r.event(te, corev1.EventTypeWarning, reason, message)
}

// note records a Normal event on the endpoint: something its owner should know, with nothing to fix.
func (r *EndpointReconciler) note(te *transferv1alpha1.TransferEndpoint, reason, message string) {
	r.event(te, corev1.EventTypeNormal, reason, message)
}

// event logs and records an event on the endpoint.
func (r *EndpointReconciler) event(te *transferv1alpha1.TransferEndpoint, eventType, reason, message string) {
	logf.Log.WithName("endpoint").Info(message, "namespace", te.Namespace, "endpoint", te.Name, "reason", reason)
	recordEvent(r.Recorder, te, eventType, reason, message)
}

// reconcileService applies the Service and reads back its load-balancer address, which FTP's passive mode
// announces when spec.ftp.passive.address is empty.
func (r *EndpointReconciler) reconcileService(ctx context.Context, s *endpointState) error {
	desired := render.Service(s.te)
	if err := r.checkPrimaryFamily(ctx, desired); err != nil {
		return err
	}
	svc, err := ensure(ctx, r.Client, r.APIReader, desired, serviceKind)
	if err != nil {
		return err
	}
	s.service = svc
	return nil
}

// checkPrimaryFamily refuses to ask for another primary IP family than the live Service's, which Kubernetes
// cannot change, with a message that says what to do; the API server's own refusal speaks of cluster IPs.
func (r *EndpointReconciler) checkPrimaryFamily(ctx context.Context, desired *corev1.Service) error {
	if len(desired.Spec.IPFamilies) == 0 {
		return nil
	}
	live := &corev1.Service{}
	if err := r.Get(ctx, client.ObjectKeyFromObject(desired), live); err != nil {
		return client.IgnoreNotFound(err) // ensure creates it, or reports why it cannot read it
	}
	want := desired.Spec.IPFamilies[0]
	if len(live.Spec.IPFamilies) == 0 || live.Spec.IPFamilies[0] == want {
		return nil
	}
	return fmt.Errorf("spec.service.ipFamilies asks for %s first, but Service %s/%s has the primary IP family %s, "+
		"which Kubernetes cannot change: delete the Service and the operator recreates it with %s first "+
		"(its cluster IP and load-balancer addresses change)", want, live.Namespace, live.Name, live.Spec.IPFamilies[0], want)
}

// reconcileDeployment applies the Deployment. Its pod template carries a hash of only what pier-server cannot
// reload, so user and certificate changes reach running pods without a restart.
func (r *EndpointReconciler) reconcileDeployment(ctx context.Context, s *endpointState) error {
	if s.config == nil {
		// Without a valid config the pods could not start; keep whatever runs now.
		return nil
	}
	if s.storageProblem != "" {
		// No pod may mount a claim that is not the endpoint's; pods already running mount the one they had.
		return nil
	}
	if s.hostKeyOutcome.unavailable {
		// Nor could they without their host keys (HostKeysReady says why): keep the pods that run, which
		// still serve the keys clients trust.
		live := &appsv1.Deployment{}
		err := r.Get(ctx, types.NamespacedName{Namespace: s.te.Namespace, Name: s.names.Deployment}, live)
		if err == nil {
			s.deployment = live
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading Deployment %s: %w", s.names.Deployment, err)
		}
	}
	desired := render.Deployment(s.te, render.DeploymentInputs{
		Image:           r.ServerImage,
		ImagePullPolicy: r.ServerImagePullPolicy,
		PodDefaults:     r.PodDefaults,
		RestartHash:     render.RestartHash(s.config),
	})
	dep, err := ensure(ctx, r.Client, r.APIReader, desired, deploymentKind)
	if err != nil {
		return err
	}
	s.deployment = dep
	// From the cache, which holds only the operator's pods (CacheOptions): they say why replicas are missing.
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(s.te.Namespace), client.MatchingLabels(render.SelectorLabels(s.te))); err != nil {
		return fmt.Errorf("listing the pods of Deployment %s: %w", dep.Name, err)
	}
	s.pods = pods.Items
	return nil
}
