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
	"errors"
	"slices"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// secretReads counts the reads of Secrets' contents, what a Resolver exists to save, and can make them fail.
type secretReads struct {
	client.Reader
	mu   sync.Mutex
	n    int
	fail error
	// after, when set, runs after each read of a Secret's contents: a change that lands just after the read.
	after func()
}

func (s *secretReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.Secret); ok {
		s.mu.Lock()
		s.n++
		fail, after := s.fail, s.after
		s.mu.Unlock()
		if fail != nil {
			return fail
		}
		if after != nil {
			defer after()
		}
	}
	return s.Reader.Get(ctx, key, obj, opts...)
}

func (s *secretReads) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// resolverFixture is a Resolver over a fake API server holding heidi's Secrets.
type resolverFixture struct {
	api      client.Client
	reads    *secretReads
	resolver *Resolver
}

func newResolverFixture(t *testing.T, objects ...client.Object) resolverFixture {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	api := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objects...).Build()
	reads := &secretReads{Reader: api}
	// One fake serves both the contents and the versions: the resolver must tell them apart by what it asks.
	return resolverFixture{api: api, reads: reads, resolver: NewResolver(reads, api)}
}

func (f resolverFixture) setPassword(t *testing.T, password string) {
	t.Helper()
	secret := &corev1.Secret{}
	if err := f.api.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: "heidi-pw"}, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data = map[string][]byte{transferv1alpha1.DefaultPasswordKey: []byte(password)}
	if err := f.api.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
}

func (f resolverFixture) wantReads(t *testing.T, want int, when string) {
	t.Helper()
	if got := f.reads.count(); got != want {
		t.Fatalf("%s: %d Secret reads in all, want %d", when, got, want)
	}
}

func passwordSecret(password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "heidi-pw"},
		Data:       map[string][]byte{transferv1alpha1.DefaultPasswordKey: []byte(password)},
	}
}

// storedUser is heidi as the API server returns it: a password in a Secret, ReadWrite.
func storedUser() *transferv1alpha1.TransferUser {
	tu := &transferv1alpha1.TransferUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "heidi", UID: "3f1c", Generation: 1},
		Spec: transferv1alpha1.TransferUserSpec{
			Username: "heidi", EndpointRef: transferv1alpha1.LocalObjectReference{Name: "ep"},
			Password: &transferv1alpha1.PasswordSource{SecretRef: transferv1alpha1.SecretKeyReference{Name: "heidi-pw"}},
		},
	}
	tu.Default()
	return tu
}

func wantPassword(t *testing.T, res Resolution, password string) {
	t.Helper()
	if res.Entry == nil || bcrypt.CompareHashAndPassword([]byte(res.Entry.PasswordHash), []byte(password)) != nil {
		t.Fatalf("the entry %+v does not carry a hash of %q (problems %v)", res.Entry, password, res.Problems)
	}
}

// TestResolveOncePerChange follows one user through the passes both reconcilers make after each change: each
// change reads the user's Secret once (and so hashes or compares its password once), however many passes follow.
func TestResolveOncePerChange(t *testing.T) {
	ctx := context.Background()
	f := newResolverFixture(t, passwordSecret("first password"))
	tu := storedUser()

	created := f.resolver.Resolve(ctx, tu, Served{Entry: nil}) // the endpoint's pass: nothing served yet
	wantPassword(t, created, "first password")
	f.resolver.Resolve(ctx, tu, Served{Entry: nil}) // the user's pass, before the config is written
	f.wantReads(t, 1, "a new user")

	// The endpoint wrote the entry; its next pass and the user's see it served.
	served := created.Entry
	for range 3 {
		if again := f.resolver.Resolve(ctx, tu, Served{Entry: served}); !sameEntry(again.Entry, served) || len(again.Problems) != 0 {
			t.Fatalf("resolved again against its own entry: %+v %v, want %+v", again.Entry, again.Problems, served)
		}
	}
	f.wantReads(t, 1, "passes after the config was written")

	f.setPassword(t, "second password")
	changed := f.resolver.Resolve(ctx, tu, Served{Entry: served})
	wantPassword(t, changed, "second password")
	f.resolver.Resolve(ctx, tu, Served{Entry: served})
	f.resolver.Resolve(ctx, tu, Served{Entry: changed.Entry})
	f.wantReads(t, 2, "a changed password")

	tu.Generation++
	tu.Spec.Permissions = []transferv1alpha1.Permission{transferv1alpha1.PermissionReadOnly}
	restricted := f.resolver.Resolve(ctx, tu, Served{Entry: changed.Entry})
	f.resolver.Resolve(ctx, tu, Served{Entry: restricted.Entry})
	f.wantReads(t, 3, "a changed spec")
	if restricted.Entry.PasswordHash != changed.Entry.PasswordHash ||
		!slices.Equal(restricted.Entry.Permissions, []serverconfig.Permission{serverconfig.PresetReadOnly}) {
		t.Errorf("after the spec change: %+v, want ReadOnly with the unchanged hash", restricted.Entry)
	}

	// Deleting the Secret revokes the password at the next pass, whatever was remembered.
	if err := f.api.Delete(ctx, passwordSecret("")); err != nil {
		t.Fatal(err)
	}
	revoked := f.resolver.Resolve(ctx, tu, Served{Entry: restricted.Entry})
	f.wantReads(t, 4, "a deleted Secret")
	if revoked.Entry == nil || revoked.Entry.PasswordHash != "" || !revoked.Entry.Disabled ||
		!slices.ContainsFunc(revoked.Problems, func(p *Problem) bool { return p.Reason == transferv1alpha1.ReasonSecretNotFound }) {
		t.Errorf("after the Secret was deleted: %+v %v, want the password revoked and the user disabled", revoked.Entry, revoked.Problems)
	}
}

// TestResolveWhileTheSecretChanges: a Secret that changes between the Resolver's look at its version and its read
// of the contents is read again at the next pass. A resolution remembered under a version newer than the contents
// it was read from would give the old password until the Secret changed again.
func TestResolveWhileTheSecretChanges(t *testing.T) {
	ctx := context.Background()
	f := newResolverFixture(t, passwordSecret("first password"))
	tu := storedUser()
	f.reads.after = func() {
		f.reads.after = nil
		f.setPassword(t, "second password")
	}
	first := f.resolver.Resolve(ctx, tu, Served{Entry: nil})
	wantPassword(t, first, "first password")
	wantPassword(t, f.resolver.Resolve(ctx, tu, Served{Entry: first.Entry}), "second password")
	f.wantReads(t, 2, "a Secret changed during a pass")
}

// TestResolveAgainstAnotherServedEntry: a served entry that is neither the one a resolution started from nor the
// one it gave (the endpoint serves something else, say after a restore) is resolved again.
func TestResolveAgainstAnotherServedEntry(t *testing.T) {
	ctx := context.Background()
	f := newResolverFixture(t, passwordSecret("password"))
	tu := storedUser()
	first := f.resolver.Resolve(ctx, tu, Served{Entry: nil})
	other := *first.Entry
	other.PasswordHash = hashOf(t, "another password")
	if again := f.resolver.Resolve(ctx, tu, Served{Entry: &other}); again.Entry.PasswordHash == other.PasswordHash {
		t.Error("the hash of another password was kept")
	}
	f.wantReads(t, 2, "another served entry")
}

// TestResolveReadsAgainAfterAnUnreadableSecret: a Secret that cannot be read now is read again at the next pass,
// and a Secret whose version cannot be told is never remembered.
func TestResolveReadsAgainAfterAnUnreadableSecret(t *testing.T) {
	ctx := context.Background()
	f := newResolverFixture(t, passwordSecret("password"))
	tu := storedUser()
	f.reads.fail = apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "heidi-pw", errors.New("not allowed"))
	for range 2 {
		res := f.resolver.Resolve(ctx, tu, Served{Entry: nil})
		if ErrUnreadable(res.Problems) == nil {
			t.Fatalf("problems %v, want SecretUnreadable", res.Problems)
		}
	}
	f.wantReads(t, 2, "an unreadable Secret")
	f.reads.fail = nil
	wantPassword(t, f.resolver.Resolve(ctx, tu, Served{Entry: nil}), "password")
	f.wantReads(t, 3, "the Secret readable again")

	unknown := NewResolver(f.reads, failingReader{})
	unknown.Resolve(ctx, tu, Served{Entry: nil})
	unknown.Resolve(ctx, tu, Served{Entry: nil})
	f.wantReads(t, 5, "Secret versions unknown")
}

type failingReader struct{ client.Reader }

func (failingReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errors.New("the cache is not ready")
}

// TestResolveConcurrently: the two reconcilers asking for the same user at once resolve it once.
func TestResolveConcurrently(t *testing.T) {
	ctx := context.Background()
	f := newResolverFixture(t, passwordSecret("password"))
	hashes := make([]string, 8)
	var wg sync.WaitGroup
	for i := range hashes {
		wg.Go(func() { hashes[i] = f.resolver.Resolve(ctx, storedUser(), Served{Entry: nil}).Entry.PasswordHash })
	}
	wg.Wait()
	f.wantReads(t, 1, "concurrent passes")
	if len(slices.Compact(slices.Clone(hashes))) != 1 {
		t.Errorf("concurrent passes got different hashes: %v", hashes)
	}
}

// TestResolveForget: a deleted user is forgotten, and a new one of the same name is resolved afresh.
func TestResolveForget(t *testing.T) {
	ctx := context.Background()
	f := newResolverFixture(t, passwordSecret("password"))
	tu := storedUser()
	f.resolver.Resolve(ctx, tu, Served{Entry: nil})
	f.resolver.Forget(types.NamespacedName{Namespace: "ns", Name: "heidi"})
	f.resolver.Resolve(ctx, tu, Served{Entry: nil})
	recreated := storedUser()
	recreated.UID = "9a7e"
	f.resolver.Resolve(ctx, recreated, Served{Entry: nil})
	f.wantReads(t, 3, "forgotten and recreated users")
}

// TestKeyFingerprintsOfARefusedUser: a user another one keeps from being served is only read for its key
// fingerprints, once per change, from its keys Secret alone (its password Secret has nothing to add), and its
// resolution later reads again (it was never rendered).
func TestKeyFingerprintsOfARefusedUser(t *testing.T) {
	ctx := context.Background()
	keys := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "heidi-keys"},
		Data:       map[string][]byte{transferv1alpha1.DefaultAuthorizedKeysKey: []byte(ed25519Key(t, "heidi").Line + "\n")},
	}
	f := newResolverFixture(t, passwordSecret("password"), keys)
	tu := storedUser()
	tu.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{SecretRef: &transferv1alpha1.SecretKeyReference{Name: "heidi-keys"}}
	first := f.resolver.KeyFingerprints(ctx, tu)
	if len(first) != 1 {
		t.Fatalf("fingerprints %v, want one", first)
	}
	if again := f.resolver.KeyFingerprints(ctx, tu); !slices.Equal(again, first) {
		t.Errorf("fingerprints %v, then %v", first, again)
	}
	f.wantReads(t, 1, "fingerprints, twice") // the keys Secret, once
	res := f.resolver.Resolve(ctx, tu, Served{Entry: nil})
	if !slices.Equal(res.KeyFingerprints, first) {
		t.Errorf("resolved fingerprints %v, want %v", res.KeyFingerprints, first)
	}
	f.resolver.KeyFingerprints(ctx, tu)
	f.wantReads(t, 3, "resolved after the fingerprints")
}

// TestResolutionIsACopy: changing what Resolve returned does not change what it returns next.
func TestResolutionIsACopy(t *testing.T) {
	ctx := context.Background()
	f := newResolverFixture(t)
	tu := storedUser()
	tu.Spec.Password = nil
	tu.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{Keys: []string{ed25519Key(t, "inline").Line}}
	first := f.resolver.Resolve(ctx, tu, Served{Entry: nil})
	first.Entry.AuthorizedKeys[0] = "changed"
	first.KeyFingerprints[0] = "changed"
	second := f.resolver.Resolve(ctx, tu, Served{Entry: nil})
	if second.Entry.AuthorizedKeys[0] == "changed" || second.KeyFingerprints[0] == "changed" {
		t.Errorf("a caller's change reached the Resolver: %+v", second)
	}
}
