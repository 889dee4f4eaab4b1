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

package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// passwordKind is where the users' passwords come from.
type passwordKind string

const (
	// prehashed users name a Secret holding a bcrypt hash, which the operator serves as it is.
	prehashed passwordKind = "pre-hashed"
	// generated users ask the operator to generate a password (spec.generatePassword).
	generated passwordKind = "generated"
	// plaintext users name a Secret holding the password itself, which the operator hashes.
	plaintext passwordKind = "plaintext"
)

// passwordKey is the Secret key of the users' passwords (the API's default key).
const passwordKey = "password"

// hashed is a password and its bcrypt hash at pier's cost.
type hashed struct{ password, hash string }

// userSpec is one TransferUser of a scenario.
type userSpec struct {
	name, endpoint, username string
	kind                     passwordKind
	password                 string // plaintext: what its Secret holds; pre-hashed: the password of hash
	hash                     string // pre-hashed: what its Secret holds, and what the config must serve
}

// newUsers are count users of endpoint, named ENDPOINT-uNNN with usernames userNNN. Pre-hashed users take their
// hashes from pool in turn (hashing 10,000 passwords would cost the bench 10 CPU-minutes; the operator does not
// look at whether two users share a hash); plaintext users get a password each.
func newUsers(kind passwordKind, endpoint string, count int, pool []hashed) ([]userSpec, error) {
	width := len(fmt.Sprint(count - 1))
	users := make([]userSpec, count)
	for i := range users {
		u := userSpec{name: fmt.Sprintf("%s-u%0*d", endpoint, width, i), endpoint: endpoint,
			username: fmt.Sprintf("user%0*d", width, i), kind: kind}
		switch kind {
		case prehashed:
			h := pool[i%len(pool)]
			u.password, u.hash = h.password, h.hash
		case plaintext:
			var err error
			if u.password, err = randomPassword(); err != nil {
				return nil, err
			}
		}
		users[i] = u
	}
	return users, nil
}

func randomPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// objects are what a user applies for u: its password Secret (none for a generated password), then the user.
func (u userSpec) objects() []client.Object {
	tu := &transferv1alpha1.TransferUser{
		ObjectMeta: metav1.ObjectMeta{Name: u.name, Namespace: namespace},
		Spec: transferv1alpha1.TransferUserSpec{
			EndpointRef: transferv1alpha1.LocalObjectReference{Name: u.endpoint},
			Username:    u.username,
		},
	}
	if u.kind == generated {
		tu.Spec.GeneratePassword = true
		return []client.Object{tu}
	}
	secretName := u.name + "-pw"
	value := u.password
	if u.kind == prehashed {
		value = u.hash
	}
	tu.Spec.Password = &transferv1alpha1.PasswordSource{SecretRef: transferv1alpha1.SecretKeyReference{Name: secretName}}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: namespace},
		StringData: map[string]string{passwordKey: value}}
	return []client.Object{secret, tu}
}

// endpointObject is an SFTP-only endpoint with every other setting at its default.
func endpointObject(name string) *transferv1alpha1.TransferEndpoint {
	return &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}},
	}
}

// createAll creates every group's objects in order, workers groups at a time, and stops at the first error.
func createAll(ctx context.Context, c client.Client, groups [][]client.Object, workers int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(groups)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(groups) || ctx.Err() != nil {
					return
				}
				for _, obj := range groups[i] {
					if err := c.Create(ctx, obj); err != nil {
						cancel(fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err))
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}
