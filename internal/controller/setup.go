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

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/availability"
	"github.com/pier-dev/pier/internal/controller/readymetrics"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/controller/users"
)

// Field indexes, so a changed Secret or TransferUser finds what depends on it without a full list.
const (
	indexUserEndpoint     = "spec.endpointRef.name"
	indexUserSecrets      = "transfer.pier.dev/user-secrets"
	indexUserClaims       = "transfer.pier.dev/user-claims"
	indexEndpointSecrets  = "transfer.pier.dev/endpoint-secrets"
	eventRecorderName     = "pier-operator"
	defaultMaxConcurrency = 4
)

// Options configure both reconcilers.
type Options struct {
	ServerImage           string
	ServerImagePullPolicy corev1.PullPolicy
	// PodDefaults are the operator-wide defaults of the server pods' scheduling fields (--endpoint-defaults).
	PodDefaults render.PodDefaults
	// CertManager is true when cert-manager's Certificate kind is installed (see CertManagerInstalled); only
	// then are Certificates created and watched.
	CertManager bool
	// WatchNamespaces are the namespaces the manager's cache watches (CacheOptions); empty means every namespace.
	// A Certificate cache started when cert-manager arrives later watches the same ones.
	WatchNamespaces []string
	// MaxConcurrentReconciles per controller; 0 means the default, 4.
	MaxConcurrentReconciles int
}

// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Setup registers the field indexes and both controllers with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.ServerImage == "" {
		return fmt.Errorf("the pier-server image is not set")
	}
	if opts.MaxConcurrentReconciles == 0 {
		opts.MaxConcurrentReconciles = defaultMaxConcurrency
	}
	if err := setupIndexes(ctx, mgr); err != nil {
		return err
	}
	certManager := opts.CertManager
	recorder := mgr.GetEventRecorder(eventRecorderName)
	// One resolver for both reconcilers, so a change of a user is resolved once between them. It reads Secrets
	// through the client (always from the API server) and their versions from the cache's Secret metadata, which
	// both reconcilers' Secret watches keep current.
	resolver := users.NewResolver(mgr.GetClient(), mgr.GetCache())
	// The endpoint reconciler tells the user reconciler which users' entries its config writes changed, so that
	// a config write wakes those users only (see UserReconciler.setupWithManager).
	userEvents := make(chan event.GenericEvent)
	endpointWrites, userWrites := newOwnWrites(mgr.GetScheme()), newOwnWrites(mgr.GetScheme())
	// The endpoints' configs, parsed, told current by the cache's Secret metadata: both reconcilers read them.
	served := newServedConfigs(mgr.GetCache(), mgr.GetAPIReader())
	endpoints := &EndpointReconciler{
		Client: endpointWrites.client(mgr.GetClient()), APIReader: mgr.GetAPIReader(), Recorder: recorder, Users: resolver,
		ServerImage: opts.ServerImage, ServerImagePullPolicy: opts.ServerImagePullPolicy, PodDefaults: opts.PodDefaults,
		userEvents: userEvents, writes: endpointWrites, served: served, hostKeys: hostKeyMemo{cache: mgr.GetCache()},
	}
	endpoints.certManager.Store(certManager)
	endpointController, err := endpoints.setupWithManager(mgr, opts, certManager)
	if err != nil {
		return err
	}
	if !certManager {
		// cert-manager may come later; the operator then starts its Certificate watch without a restart.
		if err := watchCertManagerArrival(mgr, endpointController, endpoints, opts.WatchNamespaces); err != nil {
			return err
		}
	}
	userReconciler := &UserReconciler{Client: userWrites.client(mgr.GetClient()), APIReader: mgr.GetAPIReader(),
		Recorder: recorder, Users: resolver, events: userEvents, writes: userWrites, served: served}
	if err := userReconciler.setupWithManager(mgr, opts); err != nil {
		return err
	}
	return readymetrics.Register(&readymetrics.Collector{Reader: mgr.GetCache(), Elected: mgr.Elected(),
		Log: mgr.GetLogger().WithName("readymetrics")})
}

// CacheOptions are the manager cache settings the reconcilers rely on: children are cached only when they carry
// the operator's managed-by label, so the operator does not hold every Deployment and Service of the cluster in
// memory, and without their managedFields. Secrets are not cached at all (see ClientOptions); they are watched as
// metadata only. certManager says
// whether cert-manager's Certificate kind exists: the cache refuses to start with an entry for a missing kind.
func CacheOptions(namespaces []string, certManager bool) cache.Options {
	managed := labels.SelectorFromSet(labels.Set{render.LabelManagedBy: render.ManagedByValue})
	opts := cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			// The endpoints' server pods carry the label too (render.Labels); no other pod is cached.
			&corev1.Pod{}: {Label: managed},
		},
		// Nothing reads managedFields, which are a large part of every object (of the metadata of every Secret
		// of the cluster most of all). An update of a child from the cache leaves them as they are: the API server
		// keeps an object's managedFields when an update carries none.
		DefaultTransform: cache.TransformStripManagedFields(),
	}
	for _, k := range installedKinds(certManager) {
		if !k.traits().uncached {
			opts.ByObject[k.object()] = cache.ByObject{Label: managed}
		}
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// ManagerOptions completes base with the cache and client options the reconcilers rely on (CacheOptions,
// ClientOptions), after asking the API server whether cert-manager is installed. It returns the answer for
// Options.CertManager.
func ManagerOptions(cfg *rest.Config, base ctrl.Options, namespaces []string) (ctrl.Options, bool, error) {
	certManager, err := CertManagerInstalled(cfg)
	if err != nil {
		return ctrl.Options{}, false, err
	}
	base.Cache = CacheOptions(namespaces, certManager)
	base.Client = ClientOptions()
	return base, certManager, nil
}

// ClientOptions make every read of an uncached kind (childKinds) go to the API server: Secrets, so that users'
// passwords and keys are read when needed and never kept in the operator's memory.
func ClientOptions() client.Options {
	var uncached []client.Object
	for _, k := range childKinds {
		if k.traits().uncached {
			uncached = append(uncached, k.object())
		}
	}
	return client.Options{Cache: &client.CacheOptions{DisableFor: uncached}}
}

// CertManagerInstalled asks the API server whether cert-manager's Certificate kind is served: at start, and again
// when its CRD appears later (certManagerArrival).
func CertManagerInstalled(cfg *rest.Config) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false, fmt.Errorf("checking whether cert-manager is installed: %w", err)
	}
	resources, err := dc.ServerResourcesForGroupVersion(render.CertificateGVK.GroupVersion().String())
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("checking whether cert-manager is installed: %w", err)
	}
	for _, r := range resources.APIResources {
		if r.Kind == render.CertificateGVK.Kind {
			return true, nil
		}
	}
	return false, nil
}

// fieldIndex is one field index of the manager's cache; what names it in an error.
type fieldIndex struct {
	obj     client.Object
	field   string
	what    string
	extract client.IndexerFunc
}

// fieldIndexes are the indexes the reconcilers list through.
var fieldIndexes = []fieldIndex{
	{&transferv1alpha1.TransferUser{}, indexUserEndpoint, "TransferUsers by endpoint", func(o client.Object) []string {
		return []string{o.(*transferv1alpha1.TransferUser).Spec.EndpointRef.Name}
	}},
	{&transferv1alpha1.TransferUser{}, indexUserSecrets, "TransferUsers by Secret", func(o client.Object) []string {
		return users.ReferencedSecrets(o.(*transferv1alpha1.TransferUser))
	}},
	{&transferv1alpha1.TransferUser{}, indexUserClaims, "TransferUsers by username and home", func(o client.Object) []string {
		return users.Claims(o.(*transferv1alpha1.TransferUser))
	}},
	{&transferv1alpha1.TransferEndpoint{}, indexEndpointSecrets, "TransferEndpoints by Secret", func(o client.Object) []string {
		return endpointSecrets(o.(*transferv1alpha1.TransferEndpoint))
	}},
}

func setupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	for _, index := range fieldIndexes {
		if err := mgr.GetFieldIndexer().IndexField(ctx, index.obj, index.field, index.extract); err != nil {
			return fmt.Errorf("indexing %s: %w", index.what, err)
		}
	}
	return nil
}

// endpointSecrets are the Secrets an endpoint reads but does not own: the user's host keys and TLS Secret, or
// the TLS Secret cert-manager writes.
func endpointSecrets(te *transferv1alpha1.TransferEndpoint) []string {
	names := render.NamesFor(te)
	var out []string
	if names.HostKeysSecret != "" && !names.GeneratedHostKeys {
		out = append(out, names.HostKeysSecret)
	}
	if names.TLSSecret != "" {
		out = append(out, names.TLSSecret)
	}
	return out
}

// specChanged passes creates, deletes and updates that change the spec, labels or annotations; status-only
// updates (most of all the operator's own) do not trigger a reconcile.
var specChanged = predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{},
	predicate.AnnotationChangedPredicate{})

func (r *EndpointReconciler) setupWithManager(mgr ctrl.Manager, opts Options, certManager bool) (controller.Controller, error) {
	// The events of the reconciler's own writes of its children would only run it again for nothing.
	notOwn := builder.WithPredicates(r.writes.notOwn())
	b := ctrl.NewControllerManagedBy(mgr).
		Named("transferendpoint").
		For(&transferv1alpha1.TransferEndpoint{}, builder.WithPredicates(specChanged)).
		// The Secrets (uncached) as metadata: those the endpoint owns, and those it or its users name.
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.endpointsForSecret), notOwn).
		Watches(&transferv1alpha1.TransferUser{}, handler.EnqueueRequestsFromMapFunc(endpointOfUser),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(endpointOfPod), builder.WithPredicates(podProblemChanged)).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
			NewQueue: newPrioritizedQueue(mgr.GetLogger(), func(req reconcile.Request) int {
				return endpointPriority(mgr.GetCache(), req.NamespacedName)
			})})
	for _, k := range installedKinds(certManager) {
		if !k.traits().uncached {
			b = b.Owns(k.object(), builder.WithPredicates(r.writes.notOwn(), changedChild(k)))
		}
	}
	// A claim kept under spec.retentionPolicy has no owner for Owns to follow.
	b = b.Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(endpointKeeping), notOwn)
	return b.Build(r)
}

func (r *UserReconciler) setupWithManager(mgr ctrl.Manager, opts Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("transferuser").
		For(&transferv1alpha1.TransferUser{}, builder.WithPredicates(specChanged)).
		// The Secrets the users read, and the generated password Secrets they own (but not the reconciler's own
		// creation of one).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.usersForSecret), builder.WithPredicates(r.writes.notOwn())).
		// A user waits for its endpoint to exist, and reports what the endpoint's status says of it.
		Watches(&transferv1alpha1.TransferEndpoint{}, handler.EnqueueRequestsFromMapFunc(r.usersOfEndpoint),
			builder.WithPredicates(endpointSignalChanged)).
		// Then it waits for the endpoint to serve it: the endpoint names the users whose entries each config
		// write changed. Waking every user of the endpoint at each config write instead cost a reconcile of
		// each of them for every change of any one.
		WatchesRawSource(source.Channel(r.events, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
			NewQueue: newPrioritizedQueue(mgr.GetLogger(), func(req reconcile.Request) int {
				return userPriority(mgr.GetCache(), req.NamespacedName)
			})}).
		Complete(r)
}

// endpointSignalChanged passes the creation and deletion of an endpoint, and the updates that change what its users'
// Ready conditions read of it (endpointSignal); not, for example, the count of users its status reports.
var endpointSignalChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*transferv1alpha1.TransferEndpoint)
		cur, okNew := e.ObjectNew.(*transferv1alpha1.TransferEndpoint)
		return okOld && okNew && signalOf(old) != signalOf(cur)
	},
}

// endpointOfUser maps a TransferUser to the endpoint it binds to.
func endpointOfUser(_ context.Context, o client.Object) []reconcile.Request {
	tu := o.(*transferv1alpha1.TransferUser)
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: tu.Namespace, Name: tu.Spec.EndpointRef.Name}}}
}

// endpointOfPod maps a server pod to its endpoint, by the label every server pod carries.
func endpointOfPod(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[render.LabelEndpoint]
	if name == "" {
		return nil
	}
	return []reconcile.Request{request(o.GetNamespace(), name)}
}

// podProblemChanged passes pod events that change what the endpoint's Available condition says about the pod.
// Pods becoming ready or going away change the Deployment's status too, which the endpoint watches; the rest of
// a pod's updates (probes, restarts of a healthy container) would only cost reconciles.
var podProblemChanged = predicate.Funcs{
	CreateFunc:  func(e event.CreateEvent) bool { return hasProblem(e.Object) },
	DeleteFunc:  func(e event.DeleteEvent) bool { return hasProblem(e.Object) },
	UpdateFunc:  func(e event.UpdateEvent) bool { return problemOf(e.ObjectOld) != problemOf(e.ObjectNew) },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

func problemOf(o client.Object) string {
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return ""
	}
	reason, why := availability.PodProblem(pod)
	return reason + why
}

func hasProblem(o client.Object) bool { return problemOf(o) != "" }

// endpointsForSecret maps a Secret to the endpoints that read it: the one that owns it, those that name it, and
// the endpoints of users that name it.
func (r *EndpointReconciler) endpointsForSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	if owner := controllerOf(o, "TransferEndpoint"); owner != "" {
		reqs = append(reqs, request(o.GetNamespace(), owner))
	}
	reqs = append(reqs, endpointKeeping(ctx, o)...)
	var endpoints transferv1alpha1.TransferEndpointList
	if err := r.List(ctx, &endpoints, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexEndpointSecrets: o.GetName()}); err == nil {
		for _, te := range endpoints.Items {
			reqs = append(reqs, request(te.Namespace, te.Name))
		}
	}
	var list transferv1alpha1.TransferUserList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexUserSecrets: o.GetName()}); err == nil {
		for _, tu := range list.Items {
			reqs = append(reqs, request(tu.Namespace, tu.Spec.EndpointRef.Name))
		}
	}
	return reqs
}

// usersForSecret maps a Secret to the users that read it or own it. The endpoint's config Secret is not among
// them: the endpoint tells the users whose entries its writes change (UserReconciler.events).
func (r *UserReconciler) usersForSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	if owner := controllerOf(o, "TransferUser"); owner != "" {
		reqs = append(reqs, request(o.GetNamespace(), owner))
	}
	var list transferv1alpha1.TransferUserList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexUserSecrets: o.GetName()}); err == nil {
		for _, tu := range list.Items {
			reqs = append(reqs, request(tu.Namespace, tu.Name))
		}
	}
	return reqs
}

func (r *UserReconciler) usersOfEndpoint(ctx context.Context, o client.Object) []reconcile.Request {
	return r.usersOf(ctx, o.GetNamespace(), o.GetName())
}

func (r *UserReconciler) usersOf(ctx context.Context, namespace, endpoint string) []reconcile.Request {
	var list transferv1alpha1.TransferUserList
	if err := r.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{indexUserEndpoint: endpoint},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, tu := range list.Items {
		reqs = append(reqs, request(tu.Namespace, tu.Name))
	}
	return reqs
}

// controllerOf is the name of o's controller when it is of pier's kind, else "".
func controllerOf(o client.Object, kind string) string {
	ref := metav1.GetControllerOf(o)
	if ref == nil || ref.Kind != kind || ref.APIVersion != transferv1alpha1.GroupVersion.String() {
		return ""
	}
	return ref.Name
}

func request(namespace, name string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: namespace, Name: name}}
}
