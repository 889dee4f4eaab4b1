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
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/bench/controlplane/internal/served"
	"github.com/pier-dev/pier/internal/controller/render"
)

var errHashMismatch = errors.New("a served hash does not match its password")

// checkHashes checks that what the manager serves logs the users in: for up to n users spread over the list, the
// hash in their endpoint's config must match their password (plaintext: what its Secret holds; generated: what
// the Secret named in the user's status holds). Pre-hashed users need no sample: the bench waited for each one's
// hash to be served exactly as given. The result is a sentence for the report.
func checkHashes(ctx context.Context, c client.Client, users []userSpec, n int) string {
	if len(users) == 0 {
		return ""
	}
	if users[0].kind == prehashed {
		return "every pre-hashed user is served with exactly the hash its Secret holds"
	}
	configs := map[string]map[string]string{}
	var matched, unserved int
	var problems []string
	n = min(n, len(users))
	for i := range n {
		u := users[i*len(users)/n]
		cfg, ok := configs[u.endpoint]
		if !ok {
			var err error
			if cfg, err = servedUsers(ctx, c, u.endpoint); err != nil {
				problems = append(problems, err.Error())
				continue
			}
			configs[u.endpoint] = cfg
		}
		hash, ok := cfg[u.username]
		if !ok {
			unserved++
			continue
		}
		password, err := passwordOf(ctx, c, u)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", u.name, errHashMismatch))
			continue
		}
		matched++
	}
	out := fmt.Sprintf("%d of %d sampled served hashes match their passwords", matched, n)
	if unserved > 0 {
		out += fmt.Sprintf(" (%d not served yet)", unserved)
	}
	if len(problems) > 0 {
		out += "; PROBLEMS: " + strings.Join(problems, "; ")
	}
	return out
}

// servedUsers are the users the endpoint's config Secret serves now, with their hashes.
func servedUsers(ctx context.Context, c client.Client, endpoint string) (map[string]string, error) {
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: namespace, Name: endpoint + "-config"}
	if err := c.Get(ctx, key, secret); err != nil {
		return nil, fmt.Errorf("reading the config of %s: %w", endpoint, err)
	}
	cfg, err := served.Decode(render.ConfigData(secret))
	if err != nil {
		return nil, fmt.Errorf("the config of %s: %w", endpoint, err)
	}
	return cfg.Users, nil
}

// passwordOf is the password u logs in with.
func passwordOf(ctx context.Context, c client.Client, u userSpec) (string, error) {
	if u.kind != generated {
		return u.password, nil
	}
	tu := &transferv1alpha1.TransferUser{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: u.name}, tu); err != nil {
		return "", fmt.Errorf("reading user %s: %w", u.name, err)
	}
	ref := tu.Status.PasswordSecretRef
	if ref == nil {
		return "", fmt.Errorf("user %s is served but names no generated password in its status", u.name)
	}
	key := ref.Key
	if key == "" {
		key = passwordKey
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, secret); err != nil {
		return "", fmt.Errorf("reading the generated password of %s: %w", u.name, err)
	}
	return string(secret.Data[key]), nil
}
