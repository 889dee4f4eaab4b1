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
	"bytes"
	"context"
	"errors"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
)

// childKinds is every kind of object an endpoint owns, each declared once below. Everything else that must agree
// about them is derived from this table: the manager's cache (CacheOptions: each cached kind only with the
// managed-by label), the client (ClientOptions: uncached kinds always read from the API server), the endpoint
// controller's watches (setupWithManager: Owns), and the children step, which applies the kinds that have a
// render function in this order. A test checks that each kind has a +kubebuilder:rbac marker with the verbs
// requiredVerbs gives, and that the cache covers it.
//
// A new kind of child is one entry here (with its marker) and its render function in package render; see
// docs/contributing.md.
var childKinds = []childKind{
	serviceAccountKind,
	roleKind,
	roleBindingKind,
	persistentVolumeClaimKind,
	podDisruptionBudgetKind,
	deploymentKind,
	serviceKind,
	secretKind,
	certificateKind,
}

// childKind is one entry of childKinds.
type childKind interface {
	// object returns an empty object of the kind, for the cache, the watches and reads.
	object() client.Object
	traits() kindTraits
	// reconcile applies the endpoint's child of the kind, or deletes the one it no longer wants, when the kind
	// has a render function; it does nothing for a kind with a step of its own.
	reconcile(ctx context.Context, r *EndpointReconciler, te *transferv1alpha1.TransferEndpoint) error
	// reportedStatus is the part of a child's status the endpoint's status reports (nil for none): the watch of
	// the kind wakes the endpoint for changes of it, and not for the rest of the status (changedChild).
	reportedStatus(obj client.Object) any
}

// kindTraits say how the operator reads, watches and deletes a kind of child.
type kindTraits struct {
	// uncached kinds are never held in the operator's memory: every read goes to the API server, and the
	// controller watches them as metadata only (Secrets, whose contents are passwords and keys). Every other
	// kind is cached, only with the managed-by label, and watched with Owns.
	uncached bool
	// certManager kinds exist only where cert-manager is installed: they are cached and watched only then, since
	// the cache refuses to start with an entry for a missing kind.
	certManager bool
	// deletes: the operator deletes the endpoint's child of this kind when the endpoint no longer wants it.
	deletes bool
	// keepsSpec: the operator creates the child and never changes its spec after (it keeps only the labels,
	// annotations and owner reference in step); the kind has no inSync or update.
	keepsSpec bool
}

// child declares one kind of child: its Go type T, how it is rendered, and how it is compared with and brought
// back to what the operator rendered.
type child[T client.Object] struct {
	kindTraits
	// empty returns an empty object of the kind.
	empty func() T
	// desired, when set, renders the endpoint's child of this kind (a render function), nil when the endpoint
	// wants none; the children step applies it (reconcileChildren). Kinds whose rendering needs what other steps
	// found (the Service's addresses, the config, the host keys, cert-manager's presence) leave it nil, and their
	// own step calls ensure.
	desired func(*transferv1alpha1.TransferEndpoint) T
	// name, for a kind that deletes, is the name of the endpoint's child, to delete when desired returns nil.
	name func(render.Names) string
	// inSync reports whether the live object already has every field the desired one sets.
	inSync func(desired, live T) bool
	// update copies the desired fields onto the live object, keeping what the API server or other controllers
	// own (a Service's cluster IP, allocated node ports).
	update func(desired, live T)
	// status, when set, is the part of the child's status the endpoint's status reports.
	status func(T) any
}

// specInSync reports whether live's spec needs no update to match desired.
func (k child[T]) specInSync(desired, live T) bool { return k.keepsSpec || k.inSync(desired, live) }

// updateSpec brings live's spec to desired, unless the kind keeps it.
func (k child[T]) updateSpec(desired, live T) {
	if !k.keepsSpec {
		k.update(desired, live)
	}
}

func (k child[T]) object() client.Object { return k.empty() }

func (k child[T]) traits() kindTraits { return k.kindTraits }

func (k child[T]) reportedStatus(obj client.Object) any {
	typed, ok := obj.(T)
	if k.status == nil || !ok {
		return nil
	}
	return k.status(typed)
}

func (k child[T]) reconcile(ctx context.Context, r *EndpointReconciler, te *transferv1alpha1.TransferEndpoint) error {
	if k.desired == nil {
		return nil
	}
	if desired := k.desired(te); !isNil(desired) {
		_, err := ensure(ctx, r.Client, r.APIReader, desired, k)
		return err
	}
	if !k.deletes {
		return nil
	}
	stale := k.empty()
	stale.SetNamespace(te.Namespace)
	stale.SetName(k.name(render.NamesFor(te)))
	return remove(ctx, r.Client, stale, te)
}

// requiredVerbs are the verbs the operator needs on a kind: reading and watching it, creating and updating it,
// and deleting it when it deletes.
func requiredVerbs(t kindTraits) []string {
	verbs := []string{"get", "list", "watch", "create", "update"}
	if t.deletes {
		verbs = append(verbs, "delete")
	}
	return verbs
}

// installedKinds are the kinds that exist in the cluster: those of cert-manager only when it is installed.
func installedKinds(certManager bool) []childKind {
	return slices.DeleteFunc(slices.Clone(childKinds), func(k childKind) bool { return k.traits().certManager && !certManager })
}

// reconcileChildren applies the children that need nothing but the endpoint's spec, those of the kinds with a
// render function, and deletes those the endpoint no longer wants. A kind that fails does not keep the others
// from being applied.
func (r *EndpointReconciler) reconcileChildren(ctx context.Context, s *endpointState) error {
	var errs []error
	for _, k := range childKinds {
		if err := k.reconcile(ctx, r, s.te); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// isNil reports whether obj is a nil pointer: a render function returns nil for a child the endpoint does not want.
func isNil[T client.Object](obj T) bool {
	var none T
	return any(obj) == any(none)
}

// The kinds. Comparisons use equality.Semantic.DeepDerivative, which ignores fields the rendered object leaves
// unset, so defaults the API server fills in never count as drift.

// The pods' identity, which may read exactly one Secret, the endpoint's config (Role), so pier-server can watch
// it through the API instead of waiting for the kubelet to refresh the mounted file.
//
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch;create;update

var serviceAccountKind = child[*corev1.ServiceAccount]{
	kindTraits: kindTraits{keepsSpec: true}, // it has none the operator sets
	empty:      func() *corev1.ServiceAccount { return &corev1.ServiceAccount{} },
	desired:    render.ServiceAccount,
}

// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update

var roleKind = child[*rbacv1.Role]{
	empty:   func() *rbacv1.Role { return &rbacv1.Role{} },
	desired: render.Role,
	inSync:  func(desired, live *rbacv1.Role) bool { return equality.Semantic.DeepEqual(desired.Rules, live.Rules) },
	update:  func(desired, live *rbacv1.Role) { live.Rules = desired.Rules },
}

var roleBindingKind = child[*rbacv1.RoleBinding]{
	empty:   func() *rbacv1.RoleBinding { return &rbacv1.RoleBinding{} },
	desired: render.RoleBinding,
	inSync: func(desired, live *rbacv1.RoleBinding) bool {
		return equality.Semantic.DeepEqual(desired.Subjects, live.Subjects)
	},
	// roleRef is immutable, and always the same Role name for one endpoint.
	update: func(desired, live *rbacv1.RoleBinding) { live.Subjects = desired.Subjects },
}

// The claim of a volumeClaimTemplate (an existing claim is the user's; emptyDir needs none); rendered by
// reconcileStorage, which takes over a claim kept for the endpoint (spec.retentionPolicy). It is created from
// the template once and then left alone, as a StatefulSet does with its claims: most of a claim's spec is
// immutable, and the data in it matters more than the template. Nor is it deleted when the endpoint turns to
// other storage: the files on it are the users'.
//
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;update

var persistentVolumeClaimKind = child[*corev1.PersistentVolumeClaim]{
	kindTraits: kindTraits{keepsSpec: true},
	empty:      func() *corev1.PersistentVolumeClaim { return &corev1.PersistentVolumeClaim{} },
}

// The budget keeps one pod of a replicated endpoint up through node drains; it is deleted when the endpoint
// scales down to one replica (a budget on a single pod would block every drain).
//
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;delete

var podDisruptionBudgetKind = child[*policyv1.PodDisruptionBudget]{
	kindTraits: kindTraits{deletes: true},
	empty:      func() *policyv1.PodDisruptionBudget { return &policyv1.PodDisruptionBudget{} },
	desired:    render.PodDisruptionBudget,
	name:       func(n render.Names) string { return n.PodDisruptionBudget },
	inSync: func(desired, live *policyv1.PodDisruptionBudget) bool {
		return equality.Semantic.DeepDerivative(desired.Spec, live.Spec)
	},
	update: func(desired, live *policyv1.PodDisruptionBudget) { live.Spec = desired.Spec },
}

// The server pods; rendered by reconcileDeployment, which needs the config's restart hash.
//
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update

var deploymentKind = child[*appsv1.Deployment]{
	empty: func() *appsv1.Deployment { return &appsv1.Deployment{} },
	inSync: func(desired, live *appsv1.Deployment) bool {
		return equality.Semantic.DeepDerivative(desired.Spec, live.Spec)
	},
	update: func(desired, live *appsv1.Deployment) { live.Spec = desired.Spec },
	status: deploymentReported,
}

// deploymentReported is what the endpoint's status takes from its Deployment's (availability.Condition, replicas):
// the counts, and the conditions Available and ReplicaFailure without their timestamps. The Deployment controller
// rewrites the rest (Progressing's lastUpdateTime above all) throughout a rollout.
func deploymentReported(d *appsv1.Deployment) any {
	type condition struct{ Type, Status, Reason, Message string }
	out := struct {
		ObservedGeneration                         int64
		Replicas, ReadyReplicas, AvailableReplicas int32
		Available, ReplicaFailure                  condition
	}{ObservedGeneration: d.Status.ObservedGeneration, Replicas: d.Status.Replicas, ReadyReplicas: d.Status.ReadyReplicas,
		AvailableReplicas: d.Status.AvailableReplicas}
	for _, c := range d.Status.Conditions {
		reported := condition{string(c.Type), string(c.Status), c.Reason, c.Message}
		switch c.Type {
		case appsv1.DeploymentAvailable:
			out.Available = reported
		case appsv1.DeploymentReplicaFailure:
			out.ReplicaFailure = reported
		}
	}
	return out
}

// Rendered by reconcileService, which reads back the load balancer's address.
//
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update

var serviceKind = child[*corev1.Service]{
	empty: func() *corev1.Service { return &corev1.Service{} },
	inSync: func(desired, live *corev1.Service) bool {
		return equality.Semantic.DeepDerivative(withAllocated(desired, live), live.Spec)
	},
	update: func(desired, live *corev1.Service) { live.Spec = withAllocated(desired, live) },
	// The load balancer's addresses: status.addresses, and FTP's passive addresses.
	status: func(s *corev1.Service) any { return s.Status.LoadBalancer },
}

// withAllocated is the desired Service spec plus what the API server allocated on the live one: cluster IPs, IP
// families and policy unless the endpoint sets them, and the node ports of ports the operator does not pin.
// Clearing them would be refused or would move the Service, and comparing without them would see drift on every
// reconcile.
func withAllocated(desired, live *corev1.Service) corev1.ServiceSpec {
	spec := *desired.Spec.DeepCopy()
	spec.ClusterIP = live.Spec.ClusterIP
	spec.ClusterIPs = live.Spec.ClusterIPs
	if spec.IPFamilyPolicy == nil {
		// Omitted means Kubernetes' choice, which it made when it created the Service.
		spec.IPFamilyPolicy = live.Spec.IPFamilyPolicy
	}
	spec.IPFamilies = ipFamilies(spec, live.Spec)
	if spec.Type == corev1.ServiceTypeClusterIP || spec.Type == "" {
		return spec
	}
	allocated := map[string]int32{}
	for _, p := range live.Spec.Ports {
		allocated[p.Name] = p.NodePort
	}
	for i := range spec.Ports {
		if spec.Ports[i].NodePort == 0 {
			spec.Ports[i].NodePort = allocated[spec.Ports[i].Name]
		}
	}
	if spec.HealthCheckNodePort == 0 {
		spec.HealthCheckNodePort = live.Spec.HealthCheckNodePort
	}
	return spec
}

// ipFamilies is what an update of the live Service sends as its IP families. The API server completes a
// dual-stack Service's families itself (a PreferDualStack Service asking for [IPv4] gets [IPv4, IPv6] on a
// dual-stack cluster); sending the desired [IPv4] back would ask it to release the second family, which it
// refuses unless the policy is SingleStack. So the live families stand whenever they begin with the desired ones
// and the policy keeps more than one family; a SingleStack policy, or other families, are sent as desired.
func ipFamilies(desired, live corev1.ServiceSpec) []corev1.IPFamily {
	singleStack := desired.IPFamilyPolicy != nil && *desired.IPFamilyPolicy == corev1.IPFamilyPolicySingleStack
	switch {
	case len(desired.IPFamilies) == 0:
		return live.IPFamilies
	case !singleStack && len(live.IPFamilies) > len(desired.IPFamilies) &&
		slices.Equal(live.IPFamilies[:len(desired.IPFamilies)], desired.IPFamilies):
		return live.IPFamilies
	}
	return desired.IPFamilies
}

// The config Secret (reconcileConfig) and the generated host keys (reconcileHostKeys); the users' generated
// passwords too, which the user reconciler creates. Never cached: the operator reads the Secrets it needs from
// the API server when it needs them, and watches Secrets as metadata (setupWithManager), which also maps the
// Secrets that endpoints and users name to them.
//
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update

var secretKind = child[*corev1.Secret]{
	kindTraits: kindTraits{uncached: true},
	empty:      func() *corev1.Secret { return &corev1.Secret{} },
	inSync: func(desired, live *corev1.Secret) bool {
		if desired.Type != "" && desired.Type != live.Type || len(desired.Data) != len(live.Data) {
			return false
		}
		for k, v := range desired.Data {
			if have, ok := live.Data[k]; !ok || !bytes.Equal(have, v) {
				return false
			}
		}
		return true
	},
	update: func(desired, live *corev1.Secret) { live.Data = desired.Data },
}

// cert-manager's Certificate for the FTPS certificate of spec.ftp.tls.issuerRef; reconcileTLS creates it, and
// deletes it when FTPS or issuerRef goes (it would keep renewing for nobody).
//
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list;watch;create;update;delete

var certificateKind = child[*unstructured.Unstructured]{
	kindTraits: kindTraits{certManager: true, deletes: true},
	empty:      func() *unstructured.Unstructured { return newCertificate("", "") },
	inSync: func(desired, live *unstructured.Unstructured) bool {
		return equality.Semantic.DeepDerivative(desired.Object["spec"], live.Object["spec"])
	},
	update: func(desired, live *unstructured.Unstructured) { live.Object["spec"] = desired.Object["spec"] },
}

// newCertificate is an empty Certificate for reads and deletes.
func newCertificate(namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(render.CertificateGVK)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}
