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

// Package controllers holds pier's reconcilers: TransferEndpoint into a running pier-server Deployment and its
// children, TransferUser into a login on it. What the children look like is decided by the pure functions of
// internal/controller/render; this package reads the cluster, calls them, and writes only what changed.
package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
	// CertManager is true when cert-manager's Certificate kind is installed.
	CertManager bool
	// Now returns the current time; tests replace it to check certificate expiry.
	Now func() time.Time

	// statuses remembers the status writes the cache may not show yet, so that each reconcile compares what it
	// decides with the status the API server holds.
	statuses ownstatus.Tracker
}

// +kubebuilder:rbac:groups=transfer.pier.dev,resources=transferendpoints,verbs=get;list;watch
// +kubebuilder:rbac:groups=transfer.pier.dev,resources=transferendpoints/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list;watch;create;update;delete

// Reconcile brings one TransferEndpoint's children to what its spec asks for and reports the result in its status,
// written once at the end and only when it changed.
func (r *EndpointReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	te := &transferv1alpha1.TransferEndpoint{}
	if err := r.statuses.Get(ctx, r.Client, r.APIReader, req.NamespacedName, te); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !te.DeletionTimestamp.IsZero() {
		// Owner references let the garbage collector remove the children; nothing outside the cluster needs
		// cleaning up, so there is no finalizer.
		return ctrl.Result{}, nil
	}
	// Once, before anything reads the spec: render and every step below take the defaults as given. Before the
	// status snapshot, so the defaults never reach the status patch.
	te.Default()

	original := te.DeepCopy()
	s := &endpointState{te: te, names: render.NamesFor(te)}
	defer func() {
		// A conflict only means the cache was behind; the retry will decide Ready.
		if err != nil && !apierrors.IsConflict(err) {
			s.writeStatus(err)
		} else {
			s.writeStatus(nil)
		}
		if equality.Semantic.DeepEqual(original.Status, te.Status) {
			return
		}
		if patchErr := r.Status().Patch(ctx, te, client.MergeFrom(original)); patchErr != nil {
			err = errors.Join(err, fmt.Errorf("writing the status of TransferEndpoint %s: %w", req, patchErr))
			return
		}
		r.statuses.Wrote(te)
	}()

	steps := []func(context.Context, *endpointState) error{
		r.reconcileRBAC,
		r.reconcileHostKeys,
		r.reconcileTLS,
		r.reconcileStorage,
		r.reconcileService,
		r.reconcileConfig,
		r.reconcileDeployment,
		r.reconcileDisruptionBudget,
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
	logf.Log.WithName("endpoint").Info(message, "endpoint", client.ObjectKeyFromObject(te), "reason", reason)
	if r.Recorder != nil {
		r.Recorder.Eventf(te, nil, corev1.EventTypeWarning, reason, "Reconcile", "%s", message)
	}
}

// reconcileRBAC gives the pods a ServiceAccount that may read exactly one Secret, the endpoint's config, so
// pier-server can watch it through the API instead of waiting for the kubelet to refresh the mounted file.
func (r *EndpointReconciler) reconcileRBAC(ctx context.Context, s *endpointState) error {
	if _, err := ensure(ctx, r.Client, r.APIReader, render.ServiceAccount(s.te), &corev1.ServiceAccount{}, serviceAccountKind); err != nil {
		return err
	}
	if _, err := ensure(ctx, r.Client, r.APIReader, render.Role(s.te), &rbacv1.Role{}, roleKind); err != nil {
		return err
	}
	_, err := ensure(ctx, r.Client, r.APIReader, render.RoleBinding(s.te), &rbacv1.RoleBinding{}, roleBindingKind)
	return err
}

// reconcileStorage creates the claim of a volumeClaimTemplate. An existing claim is the user's; emptyDir needs
// nothing.
func (r *EndpointReconciler) reconcileStorage(ctx context.Context, s *endpointState) error {
	pvc := render.PersistentVolumeClaim(s.te)
	if pvc == nil {
		return nil
	}
	_, err := ensure(ctx, r.Client, r.APIReader, pvc, &corev1.PersistentVolumeClaim{}, persistentVolumeClaimKind)
	return err
}

// reconcileService applies the Service and reads back its load-balancer address, which FTP's passive mode
// announces when spec.ftp.passive.address is empty.
func (r *EndpointReconciler) reconcileService(ctx context.Context, s *endpointState) error {
	desired := render.Service(s.te)
	if err := r.checkPrimaryFamily(ctx, desired); err != nil {
		return err
	}
	svc, err := ensure(ctx, r.Client, r.APIReader, desired, &corev1.Service{}, serviceKind)
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
		RestartHash:     render.RestartHash(s.config),
	})
	dep, err := ensure(ctx, r.Client, r.APIReader, desired, &appsv1.Deployment{}, deploymentKind)
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

// reconcileDisruptionBudget keeps one pod of a replicated endpoint up through node drains, and removes the budget
// when the endpoint scales down to one replica (a budget on a single pod would block every drain).
func (r *EndpointReconciler) reconcileDisruptionBudget(ctx context.Context, s *endpointState) error {
	pdb := render.PodDisruptionBudget(s.te)
	if pdb == nil {
		stale := &policyv1.PodDisruptionBudget{}
		stale.Namespace, stale.Name = s.te.Namespace, s.names.PodDisruptionBudget
		return remove(ctx, r.Client, stale, s.te)
	}
	_, err := ensure(ctx, r.Client, r.APIReader, pdb, &policyv1.PodDisruptionBudget{}, podDisruptionBudgetKind)
	return err
}

// newCertificate is an empty Certificate for reads and deletes.
func newCertificate(namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(render.CertificateGVK)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}
