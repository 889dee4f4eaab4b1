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
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/controller/users"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// staleCache is the manager's cache as a reconcile may find it under load: the objects the test froze (catchUp)
// are the copies it took then, however the API server changed them since. Everything else, and every list, is
// read from the API server.
type staleCache struct {
	client.Client
	frozen map[staleKey]client.Object
}

type staleKey struct {
	kind string
	key  types.NamespacedName
}

func keyOf(obj client.Object, key types.NamespacedName) staleKey {
	return staleKey{kind: reflect.TypeOf(obj).String(), key: key}
}

func (c *staleCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	copied, ok := c.frozen[keyOf(obj, key)]
	if !ok {
		return c.Client.Get(ctx, key, obj, opts...)
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(copied.DeepCopyObject()).Elem())
	return nil
}

// catchUp makes the cache hold obj as the API server holds it now, and keep that copy.
func (c *staleCache) catchUp(t *testing.T, obj client.Object) {
	t.Helper()
	if err := c.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	c.frozen[keyOf(obj, client.ObjectKeyFromObject(obj))] = obj.DeepCopyObject().(client.Object)
}

// newFakeAPI is a fake API server holding objs, with the field indexes the reconcilers list through.
func newFakeAPI(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := transferv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&transferv1alpha1.TransferUser{}, &transferv1alpha1.TransferEndpoint{})
	for _, index := range fieldIndexes {
		b = b.WithIndex(index.obj, index.field, index.extract)
	}
	return b.Build()
}

// filesEndpoint is an SFTP endpoint, defaulted, whose pods are available.
func filesEndpoint() *transferv1alpha1.TransferEndpoint {
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "files", UID: "files-uid", Generation: 1},
		Spec:       transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}},
	}
	te.Default()
	meta.SetStatusCondition(&te.Status.Conditions, metav1.Condition{Type: transferv1alpha1.ConditionAvailable,
		Status: metav1.ConditionTrue, Reason: "PodsAvailable", Message: "1 of 1 pods available", ObservedGeneration: 1})
	return te
}

// aliceOf is the user alice of te, with her password in Secret alice-pw, and that Secret.
func aliceOf(te *transferv1alpha1.TransferEndpoint, uid types.UID) (*transferv1alpha1.TransferUser, *corev1.Secret) {
	return &transferv1alpha1.TransferUser{
			ObjectMeta: metav1.ObjectMeta{Namespace: te.Namespace, Name: "alice", UID: uid, Generation: 1},
			Spec: transferv1alpha1.TransferUserSpec{
				EndpointRef: transferv1alpha1.LocalObjectReference{Name: te.Name},
				Username:    "alice",
				Password:    &transferv1alpha1.PasswordSource{SecretRef: transferv1alpha1.SecretKeyReference{Name: "alice-pw"}},
			},
		}, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: te.Namespace, Name: "alice-pw"},
			Data:       map[string][]byte{transferv1alpha1.DefaultPasswordKey: []byte("first password")},
		}
}

// userFixture is an SFTP endpoint serving alice in a fake API server, and a user reconciler that reads alice
// through a staleCache.
type userFixture struct {
	api   client.Client
	cache *staleCache
	r     *UserReconciler
	te    *transferv1alpha1.TransferEndpoint
	alice *transferv1alpha1.TransferUser
}

func newUserFixture(t *testing.T) userFixture {
	t.Helper()
	te := filesEndpoint()
	alice, password := aliceOf(te, "alice-uid")
	api := newFakeAPI(t, te, alice, password)
	cache := &staleCache{Client: api, frozen: map[staleKey]client.Object{}}
	f := userFixture{api: api, cache: cache, te: te, alice: alice,
		r: &UserReconciler{Client: cache, APIReader: api, Users: users.NewResolver(api, api), served: newServedConfigs(api, api)}}
	f.cache.catchUp(t, f.alice)
	return f
}

// serve does the endpoint reconciler's part: it resolves alice through the shared Resolver against the entry the
// config serves now and writes the config Secret with the result.
func (f userFixture) serve(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	tu := &transferv1alpha1.TransferUser{}
	if err := f.api.Get(ctx, client.ObjectKeyFromObject(f.alice), tu); err != nil {
		t.Fatal(err)
	}
	tu.Default()
	served, err := f.r.served.entry(ctx, f.te, tu.Spec.Username)
	if err != nil {
		t.Fatal(err)
	}
	resolved := f.r.Users.Resolve(ctx, tu, served)
	if resolved.Entry == nil {
		t.Fatalf("alice cannot be served: %v", resolved.Problems)
	}
	cfg := render.ServerConfig(f.te, render.ConfigInputs{Users: []serverconfig.User{*resolved.Entry},
		HostKeyNames: []string{"ssh_host_ed25519_key"}})
	data, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	secret := render.ConfigSecret(f.te, data, false, nil)
	if served.Entry == nil {
		err = f.api.Create(ctx, secret)
	} else {
		err = f.api.Update(ctx, secret)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// wantReady runs one pass of the user reconciler over alice and checks her Ready condition as the API server
// then holds it.
func (f userFixture) wantReady(t *testing.T, reason, when string) {
	t.Helper()
	key := client.ObjectKeyFromObject(f.alice)
	if _, err := f.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	tu := &transferv1alpha1.TransferUser{}
	if err := f.api.Get(context.Background(), key, tu); err != nil {
		t.Fatal(err)
	}
	c := meta.FindStatusCondition(tu.Status.Conditions, transferv1alpha1.ConditionReady)
	if c == nil || c.Reason != reason || c.ObservedGeneration != tu.Generation {
		t.Fatalf("%s: the API server holds Ready %+v, want reason %s for generation %d", when, c, reason, tu.Generation)
	}
}

// TestUserStatusOverAStaleCache: a user reconcile that reads its user from a cache which has not yet seen the
// status the previous reconcile wrote still writes the status it decides. Under load this happens after a password
// change: one pass writes Pending (the config still holds the old hash); the endpoint writes the new hash, whose
// config Secret event wakes the user again at once (there is no Pending recheck on a timer), and that pass finds
// Serving both in its result and in the cache's stale copy. Comparing with that copy alone wrote nothing, and a
// status-only update wakes no reconcile, so the user stayed Pending behind a config that served it.
func TestUserStatusOverAStaleCache(t *testing.T) {
	f := newUserFixture(t)
	f.serve(t)
	f.wantReady(t, transferv1alpha1.ReasonServing, "served")
	f.cache.catchUp(t, f.alice)

	secret := &corev1.Secret{}
	if err := f.api.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: "alice-pw"}, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data[transferv1alpha1.DefaultPasswordKey] = []byte("second password\n")
	if err := f.api.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	f.wantReady(t, transferv1alpha1.ReasonPending, "a new password the config does not serve yet")

	// The cache still holds alice as Serving, from before the Pending write.
	f.serve(t)
	f.wantReady(t, transferv1alpha1.ReasonServing, "the new password served, read from a cache behind the Pending write")
}

// TestEndpointStatusOverAStaleCache: the endpoint reconciler too writes the status it decides when the cache has
// not yet seen the status it wrote before. Here status.users goes from 1 to 0 (alice deleted) and back to 1 (a new
// alice) while the cache still shows the first 1.
func TestEndpointStatusOverAStaleCache(t *testing.T) {
	ctx := context.Background()
	te := filesEndpoint()
	alice, password := aliceOf(te, "alice-uid")
	api := newFakeAPI(t, te, alice, password)
	cache := &staleCache{Client: api, frozen: map[staleKey]client.Object{}}
	r := &EndpointReconciler{Client: cache, APIReader: api, Users: users.NewResolver(api, api), ServerImage: "example.test/pier-server:test",
		served: newServedConfigs(api, api)}
	wantUsers := func(want int32, when string) {
		t.Helper()
		key := client.ObjectKeyFromObject(te)
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		got := &transferv1alpha1.TransferEndpoint{}
		if err := api.Get(ctx, key, got); err != nil {
			t.Fatal(err)
		}
		if got.Status.Users == nil {
			t.Fatalf("%s: the API server holds no status.users, want %d", when, want)
		}
		if *got.Status.Users != want {
			t.Fatalf("%s: the API server holds status.users %d, want %d", when, *got.Status.Users, want)
		}
	}

	wantUsers(1, "alice bound")
	cache.catchUp(t, &transferv1alpha1.TransferEndpoint{ObjectMeta: te.ObjectMeta})
	if err := api.Delete(ctx, alice); err != nil {
		t.Fatal(err)
	}
	wantUsers(0, "alice deleted")
	again, _ := aliceOf(te, "alice-uid-2")
	if err := api.Create(ctx, again); err != nil {
		t.Fatal(err)
	}
	wantUsers(1, "alice created again, the endpoint read from a cache behind the write of 0")
}
