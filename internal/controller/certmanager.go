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

package controller

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
)

// certificateCRD is cert-manager's Certificate CRD: the one object the operator watches to notice cert-manager
// being installed after it.
const certificateCRD = "certificates.cert-manager.io"

// certManagerRecheck is how soon the operator asks discovery again when the Certificate CRD exists but is not
// served yet: the API server establishes a new CRD within moments.
const certManagerRecheck = time.Second

// Only that CRD, by name, and only its metadata: a list or watch with a metadata.name field selector is authorized
// against resourceNames, so the operator cannot read any other CRD.
//
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch,resourceNames=certificates.cert-manager.io

// certManagerArrival notices cert-manager installed after the operator started, and then starts what the operator
// would have started had cert-manager been there: a cache of the endpoints' Certificates, the endpoint
// controller's watch of them, and Certificate creation in reconcileTLS. Last it wakes the endpoints that wait for
// it, whose TLSReady (CertManagerNotInstalled) then clears by itself.
//
// It does this within the running process rather than by exiting for the Deployment to start the manager again:
// a restart counts in the pod's restarts and fires restart alerts, drops every cache and reconciles every endpoint
// again, and looks like a crash to whoever reads the pod's status; one more watch costs none of that.
//
// Uninstalling cert-manager while the operator runs is not followed back: the Certificate watch then logs list
// errors until the operator restarts, as when cert-manager was there at start (docs/install.md).
type certManagerArrival struct {
	mgr ctrl.Manager
	// crds holds the metadata of certificateCRD only.
	crds       cache.Cache
	endpoints  controller.Controller
	reconciler *EndpointReconciler
	namespaces []string
	// certificates is the cache of the endpoints' Certificates, once created; done is set once everything ran.
	// Only the controller's one worker touches them.
	certificates cache.Cache
	done         bool
}

// watchCertManagerArrival registers certManagerArrival with the manager: its own cache, which holds only
// certificateCRD, and a controller that runs it whenever that CRD appears or changes.
func watchCertManagerArrival(mgr ctrl.Manager, endpoints controller.Controller, r *EndpointReconciler, namespaces []string) error {
	crds, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:               mgr.GetScheme(),
		Mapper:               mgr.GetRESTMapper(),
		HTTPClient:           mgr.GetHTTPClient(),
		DefaultFieldSelector: fields.OneTermEqualSelector("metadata.name", certificateCRD),
	})
	if err != nil {
		return fmt.Errorf("creating the cache that watches for cert-manager: %w", err)
	}
	if err := mgr.Add(crds); err != nil {
		return fmt.Errorf("adding the cache that watches for cert-manager: %w", err)
	}
	a := &certManagerArrival{mgr: mgr, crds: crds, endpoints: endpoints, reconciler: r, namespaces: namespaces}
	return ctrl.NewControllerManagedBy(mgr).
		Named("certmanager").
		WatchesRawSource(source.Kind(crds, crdMetadata(), &handler.TypedEnqueueRequestForObject[*metav1.PartialObjectMetadata]{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(a)
}

// crdMetadata is an empty CustomResourceDefinition, metadata only: the operator needs no scheme entry for
// apiextensions and caches no schema.
func crdMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	m.APIVersion = "apiextensions.k8s.io/v1"
	return m
}

// Reconcile runs when certificateCRD is created, changes or goes away. Discovery, not the CRD object, says when
// cert-manager is usable: a CRD is served only once the API server has established it.
func (a *certManagerArrival) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if a.done {
		return reconcile.Result{}, nil
	}
	served, err := CertManagerInstalled(a.mgr.GetConfig())
	if err != nil {
		return reconcile.Result{}, err
	}
	if !served {
		if err := a.crds.Get(ctx, req.NamespacedName, crdMetadata()); apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil
		} else if err != nil {
			return reconcile.Result{}, fmt.Errorf("reading CustomResourceDefinition %s: %w", certificateCRD, err)
		}
		return reconcile.Result{RequeueAfter: certManagerRecheck}, nil
	}
	if err := a.start(); err != nil {
		return reconcile.Result{}, err
	}
	a.done = true
	logf.FromContext(ctx).Info("cert-manager is installed: creating the Certificates of endpoints with spec.ftp.tls.issuerRef")
	return reconcile.Result{}, nil
}

// start watches the endpoints' Certificates, as Owns does when cert-manager is there at start, before it lets
// reconcileTLS create any, so no event of a new Certificate is missed; then it queues every endpoint that waits.
func (a *certManagerArrival) start() error {
	if a.certificates == nil {
		certificates, err := cache.New(a.mgr.GetConfig(), certificateCacheOptions(a.mgr, a.namespaces))
		if err != nil {
			return fmt.Errorf("creating the Certificate cache: %w", err)
		}
		if err := a.mgr.Add(certificates); err != nil {
			return fmt.Errorf("adding the Certificate cache: %w", err)
		}
		a.certificates = certificates
		r := a.reconciler
		watch := source.Kind[client.Object](certificates, certificateKind.object(),
			handler.EnqueueRequestForOwner(a.mgr.GetScheme(), a.mgr.GetRESTMapper(), &transferv1alpha1.TransferEndpoint{},
				handler.OnlyControllerOwner()),
			r.writes.notOwn(), changedChild(certificateKind))
		if err := a.endpoints.Watch(watch); err != nil {
			return fmt.Errorf("watching Certificates: %w", err)
		}
	}
	a.reconciler.certManager.Store(true)
	return a.endpoints.Watch(source.Func(a.queueWaiting))
}

// queueWaiting queues the endpoints that want a Certificate (FTPS with spec.ftp.tls.issuerRef): until now their
// TLSReady said cert-manager is missing.
func (a *certManagerArrival) queueWaiting(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	var list transferv1alpha1.TransferEndpointList
	if err := a.mgr.GetClient().List(ctx, &list); err != nil {
		return fmt.Errorf("listing the TransferEndpoints that wait for cert-manager: %w", err)
	}
	for _, te := range list.Items {
		if needsTLS(&te) && te.Spec.FTP.TLS.IssuerRef != nil {
			q.Add(request(te.Namespace, te.Name))
		}
	}
	return nil
}

// certificateCacheOptions cache the Certificates the way CacheOptions would have, had cert-manager been there at
// start: only those with the managed-by label, in the watched namespaces, without managedFields.
func certificateCacheOptions(mgr ctrl.Manager, namespaces []string) cache.Options {
	opts := cache.Options{
		Scheme:               mgr.GetScheme(),
		Mapper:               mgr.GetRESTMapper(),
		HTTPClient:           mgr.GetHTTPClient(),
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{render.LabelManagedBy: render.ManagedByValue}),
		DefaultTransform:     cache.TransformStripManagedFields(),
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}
