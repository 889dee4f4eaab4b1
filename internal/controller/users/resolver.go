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
	// PasswordSource is the Secret version Entry's password hash was made from, for the endpoint's record of
	// password sources; nil when the entry has no hash made from what its Secret holds now (none, or the last
	// good one kept while the Secret is unusable: a record of it would hide the problem after a restart).
	PasswordSource *SourceID
}

// Served is what the endpoint serves for one username now.
type Served struct {
	// Entry is the served config entry; nil when the endpoint serves none for the username (or has no config it
	// can trust).
	Entry *serverconfig.User
	// Sources is the endpoint's record of the Secret versions its served password hashes were made from.
	Sources PasswordSources
}

// Resolver is the one resolve step both reconcilers use: the endpoint reconciler to render the entries it serves,
// the user reconciler to tell each user whether the endpoint serves it as it asks. Resolving costs a Secret read
// from the API server and a bcrypt hash or comparison; a Resolver remembers each user's last resolution and gives
// it again until something it was resolved from changes (the TransferUser's spec, one of its Secrets, or the entry
// the endpoint serves), so a change is resolved once, not once per reconciler and pass.
//
// What it remembers is gone when the operator restarts, and a spec change resolves the user again; neither reads
// the password Secret or runs bcrypt when the endpoint's record of password sources (PasswordSources) vouches for
// the served hash under the Secret's current version. So a password costs bcrypt once per change of its Secret:
// one hash, and one comparison with the served hash when there is one (an unchanged password then keeps its hash,
// and the config stays byte-identical). Resolve is the only caller of credentials.HashPassword in the operator.
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
func (r *Resolver) Resolve(ctx context.Context, tu *transferv1alpha1.TransferUser, served Served) Resolution {
	m := r.remembered(tu)
	m.mu.Lock()
	defer m.mu.Unlock()
	// The versions first, then the contents: what is read is then at least as new as the versions it is
	// remembered under, and a later change shows up as another version.
	from, versions, known := r.inputsOf(ctx, tu)
	if known && m.rendered && m.from == from &&
		(sameEntry(m.served, served.Entry) || (served.Entry != nil && sameEntry(m.result.Entry, served.Entry))) {
		return m.result.clone()
	}
	creds := r.read(ctx, tu, served, versions)
	entry, problems := Render(tu, creds, served.Entry)
	res := Resolution{Entry: entry, Problems: problems, KeyFingerprints: creds.KeyFingerprints(),
		PasswordSource: passwordSourceOf(creds, entry, problems)}
	m.forget()
	if known && ErrUnreadable(problems) == nil {
		m.from, m.fingerprints, m.fingerprintsKnown = from, slices.Clone(res.KeyFingerprints), true
		m.rendered, m.served, m.result = true, cloneEntry(served.Entry), res.clone()
	}
	return res
}

// read reads the user's credentials, except a password the endpoint's record vouches for: its Secret is not read,
// and the served hash stands for it. versions are the user's Secrets' versions in the cache.
func (r *Resolver) read(ctx context.Context, tu *transferv1alpha1.TransferUser, served Served, versions map[string]*secretVersion) Credentials {
	vouched := func(id *SourceID) bool {
		return id != nil && served.Entry != nil && served.Sources.Vouches(tu.Spec.Username, *id, served.Entry.PasswordHash)
	}
	if id := passwordSourceNow(tu, versions); vouched(id) {
		creds := Credentials{PasswordHash: served.Entry.PasswordHash, PasswordSource: id}
		readKeys(ctx, r.secrets, tu, &creds)
		return creds
	}
	creds := Read(ctx, r.secrets, tu)
	if vouched(creds.PasswordSource) {
		// The cache had not seen this version yet, but the record had: still no bcrypt.
		creds.Password, creds.PasswordHash = nil, served.Entry.PasswordHash
	}
	return creds
}

// passwordSourceNow is the version of the user's password Secret the cache holds; nil without a password Secret
// or when the cache has none.
func passwordSourceNow(tu *transferv1alpha1.TransferUser, versions map[string]*secretVersion) *SourceID {
	ref := PasswordRef(tu)
	if ref == nil {
		return nil
	}
	v := versions[ref.Name]
	if v == nil {
		return nil
	}
	return &SourceID{Name: ref.Name, Key: ref.Key, UID: v.uid, ResourceVersion: v.resourceVersion}
}

// passwordSourceOf is the version of the password Secret entry's hash was made from, when it was made from what
// the Secret holds now (see Resolution.PasswordSource).
func passwordSourceOf(creds Credentials, entry *serverconfig.User, problems []*Problem) *SourceID {
	if creds.PasswordSource == nil || entry == nil || entry.PasswordHash == "" ||
		slices.ContainsFunc(problems, func(p *Problem) bool { return p.Reason == transferv1alpha1.ReasonInvalidPassword }) {
		return nil
	}
	id := *creds.PasswordSource
	return &id
}

// KeyFingerprints are the fingerprints of the keys the user's Secret and spec list now, for a user that is not
// resolved because another user keeps it from being served. They come from Resolve's last read when its inputs
// are the same.
func (r *Resolver) KeyFingerprints(ctx context.Context, tu *transferv1alpha1.TransferUser) []string {
	m := r.remembered(tu)
	m.mu.Lock()
	defer m.mu.Unlock()
	from, _, known := r.inputsOf(ctx, tu)
	if known && m.fingerprintsKnown && m.from == from {
		return slices.Clone(m.fingerprints)
	}
	// The keys alone: the password Secret has nothing to add to them.
	var creds Credentials
	readKeys(ctx, r.secrets, tu, &creds)
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

// secretVersion is one version of a Secret, as its metadata in the cache gives it.
type secretVersion struct {
	uid             types.UID
	resourceVersion string
}

// inputsOf identifies what tu is read from now, and gives the versions of its Secrets by name (nil for one that
// does not exist); known is false when a Secret's version could not be told, and then nothing is remembered.
func (r *Resolver) inputsOf(ctx context.Context, tu *transferv1alpha1.TransferUser) (inputs, map[string]*secretVersion, bool) {
	var secrets strings.Builder
	versions := map[string]*secretVersion{}
	for _, name := range ReferencedSecrets(tu) {
		secret := &metav1.PartialObjectMetadata{}
		secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		err := r.versions.Get(ctx, types.NamespacedName{Namespace: tu.Namespace, Name: name}, secret)
		switch {
		case apierrors.IsNotFound(err):
			fmt.Fprintf(&secrets, "%s absent\n", name)
			versions[name] = nil
		case err != nil:
			return inputs{}, nil, false
		default:
			fmt.Fprintf(&secrets, "%s %s %s\n", name, secret.UID, secret.ResourceVersion)
			versions[name] = &secretVersion{uid: secret.UID, resourceVersion: secret.ResourceVersion}
		}
	}
	return inputs{uid: tu.UID, generation: tu.Generation, secrets: secrets.String()}, versions, true
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
	if r.PasswordSource != nil {
		id := *r.PasswordSource
		out.PasswordSource = &id
	}
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
