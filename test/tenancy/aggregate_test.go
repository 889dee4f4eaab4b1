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
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

// TestAggregatedRoles installs the chart's pier-editor and pier-viewer ClusterRoles and checks them through
// Kubernetes' own roles, as a namespace's users get them: bound to edit or admin in a namespace, a user may manage
// TransferEndpoints and TransferUsers there; bound to view, only read them; neither may write status, and view
// still may not read Secrets.
func TestAggregatedRoles(t *testing.T) {
	inst := chartInstall(t)
	var aggregated install
	for _, obj := range inst.objects {
		if name := obj.GetName(); obj.GetKind() == "ClusterRole" && (name == "pier-editor" || name == "pier-viewer") {
			aggregated.objects = append(aggregated.objects, obj)
		}
	}
	if len(aggregated.objects) != 2 {
		t.Fatalf("the chart renders %d of pier-editor and pier-viewer", len(aggregated.objects))
	}
	aggregated.apply(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	for _, role := range []string{"admin", "edit", "view"} {
		poll.Until(t, "pier's rules aggregated into "+role, wait, func() error {
			var cr rbacv1.ClusterRole
			if err := env.Client.Get(ctx, client.ObjectKey{Name: role}, &cr); err != nil {
				return err
			}
			for _, rule := range cr.Rules {
				if slices.Contains(rule.APIGroups, transferv1alpha1.GroupVersion.Group) {
					return nil
				}
			}
			return fmt.Errorf("ClusterRole %s has no rule for %s yet", role, transferv1alpha1.GroupVersion.Group)
		})
	}

	users := map[string]client.Client{}
	for _, role := range []string{"admin", "edit", "view"} {
		name := role + "-user"
		binding := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
		}
		if err := env.Client.Create(ctx, binding); err != nil {
			t.Fatal(err)
		}
		users[role] = userClient(t, name)
	}

	// Each may read; admin and edit may create, view may not; none may write status.
	for _, role := range []string{"admin", "edit", "view"} {
		checkNamespaceRole(t, role, users[role], ns)
	}
	// view cannot reach Secrets through pier's viewer role.
	var secret unstructured.Unstructured
	secret.SetAPIVersion("v1")
	secret.SetKind("SecretList")
	if err := users["view"].List(ctx, &secret, client.InNamespace(ns)); !apierrors.IsForbidden(err) {
		t.Errorf("view: listing Secrets: %v, want forbidden", err)
	}
	// And none of it reaches beyond the namespace of the binding.
	other := env.Namespace(t)
	if err := users["edit"].Create(ctx, transferUser(other, "edit")); !apierrors.IsForbidden(err) {
		t.Errorf("edit in %s: creating a TransferUser in %s: %v, want forbidden", ns, other, err)
	}
}

// checkNamespaceRole checks what a user bound to Kubernetes' role in ns may do with pier's kinds.
func checkNamespaceRole(t *testing.T, role string, c client.Client, ns string) {
	t.Helper()
	ctx := context.Background()
	var list transferv1alpha1.TransferUserList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Errorf("%s: listing TransferUsers: %v", role, err)
	}
	var endpoints transferv1alpha1.TransferEndpointList
	if err := c.List(ctx, &endpoints, client.InNamespace(ns)); err != nil {
		t.Errorf("%s: listing TransferEndpoints: %v", role, err)
	}
	// kubectl scale transferendpoint: edit and admin may, view may only read the scale.
	for _, verb := range []string{"get", "update"} {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb,
				Group: transferv1alpha1.GroupVersion.Group, Resource: "transferendpoints", Subresource: "scale"}}}
		if err := c.Create(ctx, review); err != nil {
			t.Fatalf("%s: asking whether it may %s the scale: %v", role, verb, err)
		}
		if want := verb == "get" || role != "view"; review.Status.Allowed != want {
			t.Errorf("%s: may %s transferendpoints/scale: %v, want %v", role, verb, review.Status.Allowed, want)
		}
	}
	tu := transferUser(ns, role)
	err := c.Create(ctx, tu)
	switch {
	case role == "view" && !apierrors.IsForbidden(err):
		t.Errorf("view: creating a TransferUser: %v, want forbidden", err)
	case role != "view" && err != nil:
		t.Errorf("%s: creating a TransferUser: %v", role, err)
	case role != "view":
		// Status is the manager's to write.
		tu.Status.ObservedGeneration = 7
		if err := c.Status().Update(ctx, tu); !apierrors.IsForbidden(err) {
			t.Errorf("%s: writing a TransferUser's status: %v, want forbidden", role, err)
		}
	}
}

func transferUser(ns, name string) *transferv1alpha1.TransferUser {
	return &transferv1alpha1.TransferUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: transferv1alpha1.TransferUserSpec{
			EndpointRef:      transferv1alpha1.LocalObjectReference{Name: "files"},
			Username:         name,
			GeneratePassword: true,
		},
	}
}

// userClient is a client that authenticates as the user name, in no group but system:authenticated.
func userClient(t *testing.T, name string) client.Client {
	t.Helper()
	user, err := env.AddUser(envtest.User{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(user.Config(), client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
