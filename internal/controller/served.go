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
	"path"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/controller/users"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// servedConfig is what an endpoint's config Secret holds now, as far as the operator can trust it.
type servedConfig struct {
	// config is nil when there is none the operator can trust (see readServedConfig).
	config *serverconfig.Config
	// sources is the record of the Secret versions the served password hashes were made from; empty along with
	// a config that cannot be trusted.
	sources users.PasswordSources
	// resourceVersion is the Secret's; "" when there is no Secret.
	resourceVersion string
}

// readServedConfig is the config in the endpoint's config Secret now. The config is nil when there is none the
// operator can trust: no Secret yet (resourceVersion ""), a Secret this endpoint did not write (planted before it
// was created: its users and hashes are nobody's last good credentials, its record of password sources vouches
// for nothing, and its host-key names are no proof that keys were served), or one that does not parse (edited by
// hand). The endpoint reconciler overwrites the last two. Only an API error is an error.
func readServedConfig(ctx context.Context, c client.Reader, te *transferv1alpha1.TransferEndpoint) (servedConfig, error) {
	key := types.NamespacedName{Namespace: te.Namespace, Name: render.NamesFor(te).ConfigSecret}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return servedConfig{}, nil
		}
		return servedConfig{}, fmt.Errorf("reading config Secret %s: %w", key.Name, err)
	}
	out := servedConfig{resourceVersion: secret.ResourceVersion}
	if !metav1.IsControlledBy(secret, te) {
		return out, nil
	}
	cfg, err := serverconfig.Parse(render.ConfigData(secret))
	if err != nil {
		return out, nil //nolint:nilerr // an unreadable config is the same as none
	}
	out.config = cfg
	out.sources = users.ParsePasswordSources(secret.Data[render.PasswordSourcesKey])
	return out, nil
}

// hostKeyFileNames are the host-key Secret entries a config names, which its pods load; nil without a config or
// without SFTP.
func hostKeyFileNames(cfg *serverconfig.Config) []string {
	if cfg == nil || cfg.SFTP == nil {
		return nil
	}
	names := make([]string, 0, len(cfg.SFTP.HostKeyFiles))
	for _, file := range cfg.SFTP.HostKeyFiles {
		names = append(names, path.Base(file))
	}
	return names
}

// servedConfigs remembers the users of each endpoint's config Secret, parsed, by the Secret's resourceVersion.
// Every user of an endpoint checks that config after each change of it; with thousands of users, reading and
// parsing a config of up to a megabyte for each would dominate the operator's work. The config holds bcrypt
// hashes and public keys, never a plaintext password.
type servedConfigs struct {
	mu         sync.Mutex
	byEndpoint map[types.NamespacedName]servedUsers
}

type servedUsers struct {
	resourceVersion string
	users           map[string]serverconfig.User
	sources         users.PasswordSources
}

// entry is what the endpoint serves for username now: no entry when it serves none (or has no config it can
// trust yet, readServedConfig).
func (c *servedConfigs) entry(ctx context.Context, cl client.Client, te *transferv1alpha1.TransferEndpoint, username string) (users.Served, error) {
	key := types.NamespacedName{Namespace: te.Namespace, Name: render.NamesFor(te).ConfigSecret}
	// The metadata alone says whether the cached parse is still current, without reading the whole Secret.
	current := &metav1.PartialObjectMetadata{}
	current.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := cl.Get(ctx, key, current); err != nil {
		if apierrors.IsNotFound(err) {
			c.forget(key)
			return users.Served{}, nil
		}
		return users.Served{}, fmt.Errorf("reading config Secret %s: %w", key, err)
	}
	c.mu.Lock()
	cached, ok := c.byEndpoint[key]
	c.mu.Unlock()
	if !ok || cached.resourceVersion != current.ResourceVersion {
		served, err := readServedConfig(ctx, cl, te)
		if err != nil || served.resourceVersion == "" {
			c.forget(key)
			return users.Served{}, err
		}
		cached = servedUsers{resourceVersion: served.resourceVersion, sources: served.sources}
		if served.config != nil {
			cached.users = make(map[string]serverconfig.User, len(served.config.Users))
			for _, u := range served.config.Users {
				cached.users[u.Username] = u
			}
		}
		c.mu.Lock()
		if c.byEndpoint == nil {
			c.byEndpoint = map[types.NamespacedName]servedUsers{}
		}
		c.byEndpoint[key] = cached
		c.mu.Unlock()
	}
	out := users.Served{Sources: cached.sources}
	if u, ok := cached.users[username]; ok {
		out.Entry = &u
	}
	return out, nil
}

func (c *servedConfigs) forget(key types.NamespacedName) {
	c.mu.Lock()
	delete(c.byEndpoint, key)
	c.mu.Unlock()
}
