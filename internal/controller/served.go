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
	"crypto/sha256"
	"fmt"
	"maps"
	"path"
	"slices"
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
	// config is nil when there is none the operator can trust (see parseServedConfig).
	config *serverconfig.Config
	// sources is the record of the Secret versions the served password hashes were made from; empty along with
	// a config that cannot be trusted.
	sources users.PasswordSources
	// resourceVersion is the Secret's; "" when there is no Secret.
	resourceVersion string
}

// parseServedConfig is the config in the endpoint's config Secret. The config is nil when there is none the operator
// can trust: a Secret this endpoint did not write (planted before it was created: its users and hashes are nobody's
// last good credentials, its record of password sources vouches for nothing, and its host-key names are no proof
// that keys were served), or one that does not parse (edited by hand). The endpoint reconciler overwrites both.
func parseServedConfig(te *transferv1alpha1.TransferEndpoint, secret *corev1.Secret) servedConfig {
	out := servedConfig{resourceVersion: secret.ResourceVersion}
	if !metav1.IsControlledBy(secret, te) {
		return out
	}
	cfg, err := serverconfig.Parse(render.ConfigData(secret))
	if err != nil {
		return out // an unreadable config is the same as none
	}
	out.config = cfg
	out.sources = users.ParsePasswordSources(secret.Data[render.PasswordSourcesKey])
	return out
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

// servedConfigs remembers, for each endpoint, the config its config Secret holds, parsed, by the Secret's
// resourceVersion. Both reconcilers share one: the endpoint's reads its config each pass (for unchanged hashes,
// last good credentials, served host keys) and every user of the endpoint checks it after each change, so
// reading and parsing a config of up to a megabyte each time would dominate the operator's work. What is
// remembered is what the Secret holds anyway (bcrypt hashes, public keys, the record of password sources),
// never a password; it is dropped with the endpoint's Secret.
//
// Whether the remembered config is current is told by the Secret's metadata in the manager's cache (no
// contents), so a pass that finds nothing changed reads nothing from the API server. The cache can lag behind the
// endpoint reconciler's own write, which the store already holds: when the two disagree, the API server's
// metadata says which is current, and only a version the store has not seen is read in full.
type servedConfigs struct {
	// cache reads Secrets' metadata from the manager's cache; api reads from the API server.
	cache, api client.Reader

	mu         sync.Mutex
	byEndpoint map[types.NamespacedName]*servedState
	// loading holds one lock per config Secret, so that the reconcilers asking for the same config at once (an
	// endpoint and its users, after a restart) read it once.
	loading map[types.NamespacedName]*sync.Mutex
}

// servedState is one endpoint's config Secret as last read or written.
type servedState struct {
	servedConfig
	// data is a digest of the Secret's data and type, to tell whether a render would change it.
	data [sha256.Size]byte
	// users indexes config.Users by username; nil without a config.
	users map[string]serverconfig.User
}

func newServedConfigs(cache, api client.Reader) *servedConfigs {
	return &servedConfigs{cache: cache, api: api, byEndpoint: map[types.NamespacedName]*servedState{},
		loading: map[types.NamespacedName]*sync.Mutex{}}
}

// current is the endpoint's config Secret now, and the Secret's metadata as the cache holds it (nil when the cache
// has none: no Secret, or one the cache has not seen yet). A state with an empty resourceVersion means there is no
// Secret.
func (c *servedConfigs) current(ctx context.Context, te *transferv1alpha1.TransferEndpoint) (*servedState, *metav1.PartialObjectMetadata, error) {
	key := types.NamespacedName{Namespace: te.Namespace, Name: render.NamesFor(te).ConfigSecret}
	c.mu.Lock()
	load := c.loading[key]
	if load == nil {
		load = &sync.Mutex{}
		c.loading[key] = load
	}
	c.mu.Unlock()
	load.Lock()
	defer load.Unlock()
	c.mu.Lock()
	known := c.byEndpoint[key]
	c.mu.Unlock()
	cached, err := secretMetadata(ctx, c.cache, key)
	if err != nil {
		return nil, nil, err
	}
	if known != nil && cached != nil && known.resourceVersion == cached.ResourceVersion && known.trusted(cached, te) {
		return known, cached, nil
	}
	if known != nil {
		// The cache and the store disagree (or the cache has no Secret): the API server's metadata decides.
		live, err := secretMetadata(ctx, c.api, key)
		switch {
		case err != nil:
			return nil, nil, err
		case live == nil:
			c.forget(key)
			return &servedState{}, nil, nil
		case live.ResourceVersion == known.resourceVersion && known.trusted(live, te):
			return known, cached, nil
		}
	}
	secret := &corev1.Secret{}
	if err := c.api.Get(ctx, key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			c.forget(key)
			return &servedState{}, nil, nil
		}
		return nil, nil, fmt.Errorf("reading config Secret %s: %w", key.Name, err)
	}
	return c.remember(te, secret), cached, nil
}

// trusted reports whether the config remembered may stand for a Secret whose metadata is meta: the Secret still
// has the same controller (a config is trusted only from a Secret the endpoint controls: parseServedConfig).
func (s *servedState) trusted(meta metav1.Object, te *transferv1alpha1.TransferEndpoint) bool {
	return (s.config != nil) == metav1.IsControlledBy(meta, te)
}

// remember parses secret, the endpoint's config Secret as read from the API server, and keeps it.
func (c *servedConfigs) remember(te *transferv1alpha1.TransferEndpoint, secret *corev1.Secret) *servedState {
	return c.keep(secret, &servedState{servedConfig: parseServedConfig(te, secret), data: secretDigest(secret)})
}

// wrote keeps secret, the endpoint's config Secret as the endpoint reconciler just wrote it (or found it already
// written), holding cfg: parsing what was just rendered again would cost as much as rendering it.
func (c *servedConfigs) wrote(secret *corev1.Secret, cfg *serverconfig.Config) {
	c.keep(secret, &servedState{servedConfig: servedConfig{config: cfg, resourceVersion: secret.ResourceVersion,
		sources: users.ParsePasswordSources(secret.Data[render.PasswordSourcesKey])}, data: secretDigest(secret)})
}

func (c *servedConfigs) keep(secret *corev1.Secret, state *servedState) *servedState {
	if state.config != nil {
		state.users = make(map[string]serverconfig.User, len(state.config.Users))
		for _, u := range state.config.Users {
			state.users[u.Username] = u
		}
	}
	c.mu.Lock()
	c.byEndpoint[client.ObjectKeyFromObject(secret)] = state
	c.mu.Unlock()
	return state
}

// entry is what the endpoint serves for username now: no entry when it serves none (or has no config it can
// trust yet, parseServedConfig).
func (c *servedConfigs) entry(ctx context.Context, te *transferv1alpha1.TransferEndpoint, username string) (users.Served, error) {
	state, _, err := c.current(ctx, te)
	if err != nil {
		return users.Served{}, err
	}
	out := users.Served{Sources: state.sources}
	if u, ok := state.users[username]; ok {
		out.Entry = &u
	}
	return out, nil
}

func (c *servedConfigs) forget(key types.NamespacedName) {
	c.mu.Lock()
	delete(c.byEndpoint, key)
	c.mu.Unlock()
}

// forgetEndpoint drops all the store holds of a deleted endpoint's config Secret.
func (c *servedConfigs) forgetEndpoint(key types.NamespacedName) {
	c.mu.Lock()
	delete(c.byEndpoint, key)
	delete(c.loading, key)
	c.mu.Unlock()
}

// secretMetadata is the metadata of Secret key, nil when it does not exist.
func secretMetadata(ctx context.Context, c client.Reader, key types.NamespacedName) (*metav1.PartialObjectMetadata, error) {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := c.Get(ctx, key, meta); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the metadata of Secret %s: %w", key, err)
	}
	return meta, nil
}

// secretDigest is a digest of a Secret's type and data.
func secretDigest(secret *corev1.Secret) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(secret.Type))
	for _, k := range slices.Sorted(maps.Keys(secret.Data)) {
		// Lengths first, so that no two different Secrets hash the same bytes.
		_, _ = fmt.Fprintf(h, "\x00%d:%s%d:", len(k), k, len(secret.Data[k])) // a hash never fails to write
		h.Write(secret.Data[k])
	}
	var out [sha256.Size]byte
	copy(out[:], h.Sum(nil))
	return out
}
