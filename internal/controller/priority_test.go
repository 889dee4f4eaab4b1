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

package controller_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// TestServingEndpointGoesFirst: during a bulk import of new endpoints, a user added to an endpoint that already
// serves is served, and told so, before the import is through, and a user deleted from it is revoked: they wait
// behind the reconciles already running, not behind the whole import. With one worker per controller the order of the queues is the order of the work.
func TestServingEndpointGoesFirst(t *testing.T) {
	ns := env.Namespace(t)
	restartManagerWith(t, ns, 1, nil)
	te := sftpEndpoint(t, ns)
	key := authorizedKey(t)
	leaver := newUser(ns, "leaver", "leaver")
	leaver.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{Keys: []string{key}}
	create(t, leaver)
	condition(t, leaver, transferv1alpha1.ConditionReady, metav1.ConditionTrue, transferv1alpha1.ReasonServing)
	waitForReconciles(t)

	// The import: endpoints with two users each, the users first so that the endpoints' creates come last, all
	// created faster than one worker reconciles them.
	const imported, usersEach = 40, 2
	objects := make([]client.Object, 0, imported*(usersEach+1))
	for i := range imported {
		for j := range usersEach {
			tu := newUser(ns, fmt.Sprintf("bulk-%02d-%d", i, j), fmt.Sprintf("bulk%02d%d", i, j))
			tu.Spec.EndpointRef.Name = fmt.Sprintf("bulk-%02d", i)
			tu.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{Keys: []string{key}}
			objects = append(objects, tu)
		}
	}
	for i := range imported {
		objects = append(objects, &transferv1alpha1.TransferEndpoint{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("bulk-%02d", i)},
			Spec:       transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}},
		})
	}
	createAll(t, objects)

	newcomer := newUser(ns, "newcomer", "newcomer")
	newcomer.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{Keys: []string{key}}
	create(t, newcomer)
	if err := k8s.Delete(context.Background(), leaver); err != nil {
		t.Fatal(err)
	}

	var served int
	eventually(t, func() error {
		userEntry(t, te, "newcomer", true)
		userEntry(t, te, "leaver", false)
		served = reconciledEndpoints(t, ns) - 1 // not counting te
		return nil
	})
	var ready int
	eventually(t, func() error {
		get(t, ns, newcomer.Name, newcomer)
		if !meta.IsStatusConditionTrue(newcomer.Status.Conditions, transferv1alpha1.ConditionReady) {
			return errors.New("newcomer is not Ready")
		}
		ready = usersSeenServed(t, ns) - 1 // not counting newcomer (leaver is gone)
		return nil
	})
	t.Logf("newcomer served and leaver revoked after %d of %d imported endpoints, seen served after %d of %d imported users",
		served, imported, ready, imported*usersEach)
	if served >= imported/2 {
		t.Errorf("the user added to a serving endpoint was served, and the one deleted revoked, after %d of the %d endpoints imported before them: "+
			"it waited behind the import", served, imported)
	}
	if ready >= imported*usersEach/2 {
		t.Errorf("the user added to a serving endpoint knew it was served after %d of the %d users imported before it: "+
			"it waited behind the import", ready, imported*usersEach)
	}
	// And the import is reconciled all the same. Its endpoints have no pods (envtest has no kubelet): their users'
	// Ready conditions say they are served, by an endpoint without a pod available.
	eventually(t, func() error {
		if n := reconciledEndpoints(t, ns); n != imported+1 {
			return fmt.Errorf("%d of %d endpoints reconciled", n, imported+1)
		}
		if n := usersSeenServed(t, ns); n != imported*usersEach+1 {
			return fmt.Errorf("%d of %d users know they are served", n, imported*usersEach+1)
		}
		return nil
	})
}

// createAll creates objects from 8 clients at once, as a bulk import would.
func createAll(t *testing.T, objects []client.Object) {
	t.Helper()
	work := make(chan client.Object)
	errs := make(chan error, len(objects))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for obj := range work {
				if err := k8s.Create(context.Background(), obj); err != nil {
					errs <- fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
				}
			}
		})
	}
	for _, obj := range objects {
		work <- obj
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// reconciledEndpoints counts the endpoints of namespace whose status the operator has written.
func reconciledEndpoints(t *testing.T, namespace string) int {
	t.Helper()
	var list transferv1alpha1.TransferEndpointList
	if err := k8s.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, te := range list.Items {
		if te.Status.ObservedGeneration > 0 {
			n++
		}
	}
	return n
}

// usersSeenServed counts the users of namespace whose Ready condition says their endpoint serves them: Ready, or
// served by an endpoint without a pod available.
func usersSeenServed(t *testing.T, namespace string) int {
	t.Helper()
	var list transferv1alpha1.TransferUserList
	if err := k8s.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tu := range list.Items {
		ready := meta.FindStatusCondition(tu.Status.Conditions, transferv1alpha1.ConditionReady)
		if ready != nil && (ready.Reason == transferv1alpha1.ReasonServing ||
			ready.Reason == transferv1alpha1.ReasonEndpointUnavailable && strings.Contains(ready.Message, "serves this login")) {
			n++
		}
	}
	return n
}
