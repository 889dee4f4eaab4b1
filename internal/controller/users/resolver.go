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

package users

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// Resolution is one user resolved (Read, then Render) against the entry its endpoint serves.
type Resolution struct {
	// Entry is the user's config entry, nil when the user cannot be served; Problems then say why.
	Entry *serverconfig.User
	// Problems are why the user is not served exactly as it asks, as Render returns them.
	Problems []*Problem
	// KeyFingerprints are the SHA256 fingerprints of the keys the user's Secret and spec list now, for its status.
	KeyFingerprints []string
}

// Resolver is the one resolve step both reconcilers use: the endpoint reconciler to render the entries it serves,
// the user reconciler to tell each user whether the endpoint serves it as it asks. Resolving costs a Secret read
// from the API server and a bcrypt hash or comparison; a Resolver remembers each user's last resolution and gives
// it again until something it was resolved from changes (the TransferUser's spec, one of its Secrets, or the entry
// the endpoint serves), so a change is resolved once, not once per reconciler and pass.
//
// It never keeps a password: what it remembers is what the config Secret holds anyway (bcrypt hashes, public
// keys), the problems' messages and key fingerprints. A resolution that met a Secret it could not read is not
// kept, so the next pass reads again.
type Resolver struct {
	// secrets reads Secrets' contents, from the API server: the operator keeps no Secret contents in memory.
	secrets client.Reader
	// versions reads Secrets' metadata from the manager's cache, which the reconcilers' Secret watches keep
	// current, to tell whether a Secret changed without reading it.
	versions client.Reader

	mu    sync.Mutex
	users map[types.NamespacedName]*resolved
}

// NewResolver returns a Resolver that reads Secrets' contents with secrets and their resourceVersions with
// versions.
func NewResolver(secrets, versions client.Reader) *Resolver {
	return &Resolver{secrets: secrets, versions: versions, users: map[types.NamespacedName]*resolved{}}
}

// maxRemembered bounds how many users a Resolver remembers; past it, it starts over. Forget keeps the number to
// the users that exist; this only covers a user resolved again while it was being deleted.
const maxRemembered = 200_000

// resolved is what a Resolver remembers of one user.
type resolved struct {
	// mu is held while the user is resolved, so two reconcilers asking at once resolve it once.
	mu sync.Mutex
	// from is what the user was last read from; the fields below hold only while it is the same.
	from inputs
	// fingerprints are the key fingerprints read from it, when fingerprintsKnown.
	fingerprints      []string
	fingerprintsKnown bool
	// rendered is true when result is the resolution against served (nil: no served entry).
	rendered bool
	served   *serverconfig.User
	result   Resolution
}

// inputs identify what a user is read from: the TransferUser's spec and each referenced Secret's version.
type inputs struct {
	uid        types.UID
	generation int64
	secrets    string
}

// Resolve is Render(tu, Read(tu), served), or the same result remembered from an earlier call whose inputs were
// the same. served is the entry the endpoint serves for this username now (nil if none), as for Render. It is
// remembered against both the served entry it was rendered from and the entry it gave: rendering again against
// its own result gives the same result (TestRenderAgainstItsResult), which is what lets the pass after the
// endpoint wrote the new entry reuse it instead of comparing the password with the new hash.
func (r *Resolver) Resolve(ctx context.Context, tu *transferv1alpha1.TransferUser, served *serverconfig.User) Resolution {
	m := r.remembered(tu)
	m.mu.Lock()
	defer m.mu.Unlock()
	// The versions first, then the contents: what is read is then at least as new as the versions it is
	// remembered under, and a later change shows up as another version.
	from, known := r.inputsOf(ctx, tu)
	if known && m.rendered && m.from == from && (sameEntry(m.served, served) || (served != nil && sameEntry(m.result.Entry, served))) {
		return m.result.clone()
	}
	creds := Read(ctx, r.secrets, tu)
	entry, problems := Render(tu, creds, served)
	res := Resolution{Entry: entry, Problems: problems, KeyFingerprints: creds.KeyFingerprints()}
	m.forget()
	if known && ErrUnreadable(problems) == nil {
		m.from, m.fingerprints, m.fingerprintsKnown = from, slices.Clone(res.KeyFingerprints), true
		m.rendered, m.served, m.result = true, cloneEntry(served), res.clone()
	}
	return res
}

// KeyFingerprints are the fingerprints of the keys the user's Secret and spec list now, for a user that is not
// resolved because another user keeps it from being served. They come from Resolve's last read when its inputs
// are the same.
func (r *Resolver) KeyFingerprints(ctx context.Context, tu *transferv1alpha1.TransferUser) []string {
	m := r.remembered(tu)
	m.mu.Lock()
	defer m.mu.Unlock()
	from, known := r.inputsOf(ctx, tu)
	if known && m.fingerprintsKnown && m.from == from {
		return slices.Clone(m.fingerprints)
	}
	creds := Read(ctx, r.secrets, tu)
	fingerprints := creds.KeyFingerprints()
	m.forget()
	if known && ErrUnreadable(creds.Problems()) == nil {
		m.from, m.fingerprints, m.fingerprintsKnown = from, slices.Clone(fingerprints), true
	}
	return fingerprints
}

// Forget drops what the Resolver remembers of a user; the user reconciler calls it when the user is deleted.
func (r *Resolver) Forget(user types.NamespacedName) {
	r.mu.Lock()
	delete(r.users, user)
	r.mu.Unlock()
}

func (r *Resolver) remembered(tu *transferv1alpha1.TransferUser) *resolved {
	key := types.NamespacedName{Namespace: tu.Namespace, Name: tu.Name}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.users[key]
	if !ok {
		if len(r.users) >= maxRemembered {
			clear(r.users)
		}
		m = &resolved{}
		r.users[key] = m
	}
	return m
}

// inputsOf identifies what tu is read from now; known is false when a Secret's version could not be told, and
// then nothing is remembered.
func (r *Resolver) inputsOf(ctx context.Context, tu *transferv1alpha1.TransferUser) (inputs, bool) {
	var secrets strings.Builder
	for _, name := range ReferencedSecrets(tu) {
		secret := &metav1.PartialObjectMetadata{}
		secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		err := r.versions.Get(ctx, types.NamespacedName{Namespace: tu.Namespace, Name: name}, secret)
		switch {
		case apierrors.IsNotFound(err):
			fmt.Fprintf(&secrets, "%s absent\n", name)
		case err != nil:
			return inputs{}, false
		default:
			fmt.Fprintf(&secrets, "%s %s\n", name, secret.ResourceVersion)
		}
	}
	return inputs{uid: tu.UID, generation: tu.Generation, secrets: secrets.String()}, true
}

func (m *resolved) forget() {
	m.from, m.fingerprints, m.fingerprintsKnown = inputs{}, nil, false
	m.rendered, m.served, m.result = false, nil, Resolution{}
}

// sameEntry reports whether a and b are both absent or the same entry.
func sameEntry(a, b *serverconfig.User) bool {
	if a == nil || b == nil {
		return a == b
	}
	return Equal(*a, *b)
}

// clone is a copy that shares nothing with r, so that no caller can change what a Resolver remembers.
func (r Resolution) clone() Resolution {
	out := Resolution{Entry: cloneEntry(r.Entry), KeyFingerprints: slices.Clone(r.KeyFingerprints)}
	for _, p := range r.Problems {
		copied := *p
		out.Problems = append(out.Problems, &copied)
	}
	return out
}

func cloneEntry(u *serverconfig.User) *serverconfig.User {
	if u == nil {
		return nil
	}
	c := *u
	c.AuthorizedKeys = slices.Clone(u.AuthorizedKeys)
	c.Permissions = slices.Clone(u.Permissions)
	c.Protocols = slices.Clone(u.Protocols)
	c.AllowedSourceRanges = slices.Clone(u.AllowedSourceRanges)
	return &c
}
