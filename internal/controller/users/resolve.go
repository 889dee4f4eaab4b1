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
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// The rules for credentials whose Secrets change (docs/operator.md, "Users and their Secrets"):
//
//   - The spec always applies as it is now: permissions, source ranges, protocols, home and disabled are never
//     taken from an older entry, whatever the state of the Secrets.
//   - A Secret (or the key in it) that is gone revokes the credential it held, at once.
//   - A Secret that exists but cannot be used (malformed, over a limit) or cannot be read right now keeps that
//     one credential's last good value, the one the endpoint serves; the user is told with a Warning.
//   - A user left unable to log in as its spec says (an FTP user without its password, a two-factor user missing a
//     factor) is served disabled: refused, with its sessions closed, and its username kept.

// Limits of one user, documented in docs/operator.md. MaxKeysPerUser matches the CRD's limit on inline keys, so a
// Secret cannot smuggle in more than the spec may hold; MaxEntryBytes bounds what one user adds to the endpoint's
// config (50 RSA 4096 keys take about 37 KiB).
const (
	MaxKeysPerUser = 50
	MaxEntryBytes  = 64 << 10
)

// Effect says what a Problem does to the credential it concerns.
type Effect int

const (
	// Revoked: the credential is taken away (its Secret or key is gone).
	Revoked Effect = iota
	// KeptLastGood: the credential's last good value, as the endpoint serves it, stays (the Secret exists but
	// cannot be used, or cannot be read right now).
	KeptLastGood
	// Refused: the user is not served as asked (a problem of the spec, or nothing to log in with yet).
	Refused
)

// Problem is why a user is not served exactly as it asks, in words the owner of the TransferUser can act on.
type Problem struct {
	Reason  string
	Message string
	// Secret is the namespace-local name of the Secret at fault, "" when no Secret is.
	Secret string
	Effect Effect
}

func (p *Problem) Error() string { return p.Message }

// Credentials are a user's login material as read from its Secrets and spec, with what went wrong for each.
type Credentials struct {
	// Password is the Secret's value: a plaintext password or a bcrypt hash. Nil without a usable password, or
	// when PasswordHash stands for it.
	Password []byte
	// PasswordHash, when set, is the hash the endpoint serves, which its record of password sources says was made
	// from the Secret version PasswordSource: the password was not read, and needs no bcrypt.
	PasswordHash string
	// PasswordSource is the Secret version Password was read from (or PasswordHash made from); nil without one.
	PasswordSource *SourceID
	// SecretKeys are the keys of the authorized_keys Secret; InlineKeys those of spec.authorizedKeys.keys.
	SecretKeys, InlineKeys []credentials.AuthorizedKey
	// Listed are the fingerprints of the keys the authorized_keys Secret lists when it cannot be used (malformed,
	// over a limit); nil when it could not be read at all. Only last good keys it still lists are kept.
	Listed map[string]bool

	PasswordProblem, KeysProblem *Problem
}

// Problems lists the problems found, password first.
func (c Credentials) Problems() []*Problem {
	var out []*Problem
	for _, p := range []*Problem{c.PasswordProblem, c.KeysProblem} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// KeyFingerprints are the fingerprints of the keys read, the Secret's then the inline ones; nil, not empty, when
// there are none, so that a status holding none compares equal.
func (c Credentials) KeyFingerprints() []string {
	if len(c.SecretKeys)+len(c.InlineKeys) == 0 {
		return nil
	}
	out := make([]string, 0, len(c.SecretKeys)+len(c.InlineKeys))
	for _, k := range append(slices.Clone(c.SecretKeys), c.InlineKeys...) {
		out = append(out, k.Fingerprint)
	}
	return out
}

// Read reads the user's Secrets. Secrets are read directly from the API server, never from a cache: the operator
// does not keep users' Secret contents in memory.
func Read(ctx context.Context, c client.Reader, tu *transferv1alpha1.TransferUser) Credentials {
	creds := readPassword(ctx, c, tu)
	readKeys(ctx, c, tu, &creds)
	return creds
}

// readPassword reads the user's password Secret, if it has one.
func readPassword(ctx context.Context, c client.Reader, tu *transferv1alpha1.TransferUser) Credentials {
	var creds Credentials
	if ref := PasswordRef(tu); ref != nil {
		var owner *transferv1alpha1.TransferUser
		if tu.Spec.Password == nil {
			owner = tu // generated: only from the Secret the operator made
		}
		value, source, problem := readOwnedKey(ctx, c, tu.Namespace, *ref, owner)
		switch {
		case problem != nil && tu.Spec.Password == nil && problem.Reason == transferv1alpha1.ReasonSecretNotFound:
			// The generated password's Secret is made by the user reconciler: a new one is coming. The old one is
			// revoked meanwhile, since deleting the Secret is how a user asks for a new password.
			creds.PasswordProblem = &Problem{Reason: transferv1alpha1.ReasonGeneratedPasswordPending, Secret: ref.Name, Effect: Revoked,
				Message: fmt.Sprintf("waiting for the generated password Secret %s", ref.Name)}
		case problem != nil:
			creds.PasswordProblem = problem
		case isEmptyPassword(value):
			// Emptying the Secret is a way to take the password away, not a typo to ride out.
			creds.PasswordProblem = &Problem{Reason: transferv1alpha1.ReasonPasswordEmpty, Secret: ref.Name, Effect: Revoked,
				Message: fmt.Sprintf("Secret %s key %s is empty", ref.Name, ref.Key)}
		default:
			creds.Password, creds.PasswordSource = value, source
		}
	}
	return creds
}

// readKeys reads the user's authorized keys, inline and from their Secret, into creds.
func readKeys(ctx context.Context, c client.Reader, tu *transferv1alpha1.TransferUser, creds *Credentials) {
	if ak := tu.Spec.AuthorizedKeys; ak != nil {
		if len(ak.Keys) > 0 {
			keys, err := credentials.ParseAuthorizedKeyLines(ak.Keys)
			if err != nil {
				// The spec is wrong and there is no older spec to fall back on: none of the inline keys count.
				creds.KeysProblem = &Problem{Reason: transferv1alpha1.ReasonInvalidAuthorizedKeys, Effect: Refused,
					Message: fmt.Sprintf("spec.authorizedKeys.keys: %v", err)}
			}
			creds.InlineKeys = keys
		}
		if ak.SecretRef != nil && creds.KeysProblem == nil {
			creds.SecretKeys, creds.Listed, creds.KeysProblem = readKeySecret(ctx, c, tu, len(creds.InlineKeys))
		}
	}
}

// readKeySecret reads and checks the keys of the authorized_keys Secret; inline is how many inline keys the user
// has, which count towards MaxKeysPerUser.
// inline is how many inline keys the user has, which count towards MaxKeysPerUser. For a Secret that exists but
// cannot be used it also returns the fingerprints the Secret lists (see Credentials.Listed).
func readKeySecret(ctx context.Context, c client.Reader, tu *transferv1alpha1.TransferUser, inline int) ([]credentials.AuthorizedKey, map[string]bool, *Problem) {
	ref := *tu.Spec.AuthorizedKeys.SecretRef
	ref.Key = keyOrDefault(ref.Key, transferv1alpha1.DefaultAuthorizedKeysKey)
	value, problem := readKey(ctx, c, tu.Namespace, ref)
	if problem != nil {
		return nil, nil, problem
	}
	keys, err := credentials.ParseAuthorizedKeys(value)
	if err != nil {
		return nil, credentials.Fingerprints(value), &Problem{Reason: transferv1alpha1.ReasonInvalidAuthorizedKeys, Secret: ref.Name,
			Effect: KeptLastGood, Message: fmt.Sprintf("Secret %s key %s: %v", ref.Name, ref.Key, err)}
	}
	if len(keys)+inline > MaxKeysPerUser {
		return nil, credentials.Fingerprints(value), &Problem{Reason: transferv1alpha1.ReasonTooManyKeys, Secret: ref.Name, Effect: KeptLastGood,
			Message: fmt.Sprintf("Secret %s key %s holds %d keys and spec.authorizedKeys.keys %d: a user may have at most %d",
				ref.Name, ref.Key, len(keys), inline, MaxKeysPerUser)}
	}
	return keys, nil, nil
}

func readKey(ctx context.Context, c client.Reader, namespace string, ref transferv1alpha1.SecretKeyReference) ([]byte, *Problem) {
	value, _, problem := readOwnedKey(ctx, c, namespace, ref, nil)
	return value, problem
}

// readOwnedKey is readKey for a Secret that owner must control, or any Secret when owner is nil, and also
// returns the version of the Secret the value was read from. A generated password is only taken from the Secret
// the operator made for the user: a Secret of that name made by someone else could hold a password of their
// choosing.
func readOwnedKey(ctx context.Context, c client.Reader, namespace string, ref transferv1alpha1.SecretKeyReference,
	owner *transferv1alpha1.TransferUser) ([]byte, *SourceID, *Problem) {
	var secret corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, &Problem{Reason: transferv1alpha1.ReasonSecretNotFound, Secret: ref.Name, Effect: Revoked,
				Message: fmt.Sprintf("Secret %s not found in namespace %s", ref.Name, namespace)}
		}
		// Anything else (RBAC, API down) is not the user's fault, and does not say the credential is gone.
		return nil, nil, &Problem{Reason: transferv1alpha1.ReasonSecretUnreadable, Secret: ref.Name, Effect: KeptLastGood,
			Message: fmt.Sprintf("reading Secret %s: %v", ref.Name, err)}
	}
	if owner != nil && !metav1.IsControlledBy(&secret, owner) {
		return nil, nil, &Problem{Reason: transferv1alpha1.ReasonPasswordSecretConflict, Secret: ref.Name, Effect: Revoked,
			Message: fmt.Sprintf("Secret %s, where the generated password belongs, exists but was not made for this TransferUser, "+
				"so its contents are not used: delete or rename it, or set spec.password instead of generatePassword", ref.Name)}
	}
	value, ok := secret.Data[ref.Key]
	if !ok {
		return nil, nil, &Problem{Reason: transferv1alpha1.ReasonSecretKeyNotFound, Secret: ref.Name, Effect: Revoked,
			Message: fmt.Sprintf("Secret %s has no key %q (it has: %s)", ref.Name, ref.Key, strings.Join(keysOf(secret.Data), ", "))}
	}
	return value, &SourceID{Name: ref.Name, Key: ref.Key, UID: secret.UID, ResourceVersion: secret.ResourceVersion}, nil
}

// Render is the user's server-config entry under the rules above. served is the entry the endpoint serves for
// this username now, nil if none: it supplies the hash of an unchanged password (so a reconcile never re-salts and
// the config stays byte-identical) and the last good value of a credential whose Secret cannot be used.
//
// It returns the entry, or nil when the user cannot be served at all, and every problem, each with its effect
// described in its message.
func Render(tu *transferv1alpha1.TransferUser, creds Credentials, served *serverconfig.User) (*serverconfig.User, []*Problem) {
	var last serverconfig.User
	if served != nil {
		last = *served
	}
	problems := creds.Problems()

	secretKeys := lines(creds.SecretKeys)
	if p := creds.KeysProblem; p != nil && p.Effect == KeptLastGood {
		secretKeys = lastGoodSecretKeys(last.AuthorizedKeys, creds.InlineKeys, creds.Listed)
		p.Message += keptOrNone(len(secretKeys) > 0, "keys")
	} else if p != nil && p.Effect == Revoked {
		p.Message += "; the keys it held are revoked"
	}
	u := Entry(tu, appendUnique(secretKeys, lines(creds.InlineKeys)))
	if size := EntrySize(u); size > MaxEntryBytes {
		if len(creds.SecretKeys) > 0 {
			// The Secret's keys grew it past the limit: keep its last good keys it still lists, as for a
			// malformed Secret.
			secretKeys = lastGoodSecretKeys(last.AuthorizedKeys, creds.InlineKeys, fingerprintsOf(creds.SecretKeys))
			u.AuthorizedKeys = appendUnique(secretKeys, lines(creds.InlineKeys))
			problems = append(problems, &Problem{Reason: transferv1alpha1.ReasonEntryTooLarge, Effect: KeptLastGood,
				Secret: tu.Spec.AuthorizedKeys.SecretRef.Name,
				Message: fmt.Sprintf("the user's authorized keys take %d bytes in the endpoint's config, more than the %d a user may take",
					size, MaxEntryBytes) + keptOrNone(len(secretKeys) > 0, "keys")})
		}
		if size := EntrySize(u); size > MaxEntryBytes {
			// The inline keys alone are too large: the spec asks for more than a user may have.
			return nil, append(problems, &Problem{Reason: transferv1alpha1.ReasonEntryTooLarge, Effect: Refused, Message: fmt.Sprintf(
				"the user's authorized keys take %d bytes in the endpoint's config, more than the %d a user may take: "+
					"use fewer or shorter keys (an ed25519 key takes about 100 bytes, an RSA 4096 key about 750)", size, MaxEntryBytes)})
		}
	}

	switch p := creds.PasswordProblem; {
	case creds.PasswordHash != "":
		// Vouched for by the record of password sources: the hash of what the Secret holds now.
		u.PasswordHash = creds.PasswordHash
	case creds.Password != nil:
		hash, work, err := credentials.HashPassword(creds.Password, last.PasswordHash)
		countBcrypt(work)
		if err != nil {
			ref := PasswordRef(tu)
			u.PasswordHash = last.PasswordHash
			problems = append(problems, &Problem{Reason: transferv1alpha1.ReasonInvalidPassword, Secret: ref.Name, Effect: KeptLastGood,
				Message: fmt.Sprintf("Secret %s key %s: %v", ref.Name, ref.Key, err) + keptOrNone(last.PasswordHash != "", "password")})
		} else {
			u.PasswordHash = hash
		}
	case p != nil && p.Effect == KeptLastGood:
		u.PasswordHash = last.PasswordHash
		p.Message += keptOrNone(last.PasswordHash != "", "password")
	case p != nil && p.Reason != transferv1alpha1.ReasonGeneratedPasswordPending:
		p.Message += "; the password is revoked"
	}

	if err := u.Validate(); err != nil {
		disabled := u
		disabled.Disabled = true
		switch {
		case disabled.Validate() != nil:
			// Not a matter of credentials; the CRD's rules should make this impossible.
			return nil, append(problems, &Problem{Reason: transferv1alpha1.ReasonInvalidUser, Effect: Refused, Message: err.Error()})
		case served != nil:
			// The credentials left cannot log in as the spec says. The user was served: refuse it and close its
			// sessions, rather than let it log in some other way than asked.
			return &disabled, append(problems, &Problem{Reason: transferv1alpha1.ReasonNoCredentials, Effect: Refused,
				Message: fmt.Sprintf("with the credentials left (%s) the user cannot log in as its spec says (%s), "+
					"so the endpoint refuses it and has closed its sessions", credentialSummary(u), whyCannotLogIn(u))})
		case len(problems) > 0:
			return nil, problems // a new user with nothing to log in with yet: the problems say why
		default:
			return nil, []*Problem{{Reason: transferv1alpha1.ReasonNoCredentials, Effect: Refused, Message: err.Error()}}
		}
	}
	return &u, problems
}

// lastGoodSecretKeys are the served entry's keys that did not come from the spec's inline list: the last good
// keys of the Secret. A key listed inline both before and now is counted as inline; one removed from the inline
// list in the same change that broke the Secret would be counted as the Secret's until the Secret is fixed.
//
// listed, when not nil, are the fingerprints the Secret lists now: a last good key the Secret no longer lists is
// not kept, so removing a key from the Secret always revokes it, even when the same edit broke another line.
func lastGoodSecretKeys(served []string, inline []credentials.AuthorizedKey, listed map[string]bool) []string {
	inlineLines := lines(inline)
	return slices.DeleteFunc(slices.Clone(served), func(line string) bool {
		return slices.Contains(inlineLines, line) || (listed != nil && !listed[credentials.Fingerprint(line)])
	})
}

// isEmptyPassword reports a password Secret value that holds nothing but an optional final line break.
func isEmptyPassword(value []byte) bool {
	return len(value) == 0 || string(value) == "\n" || string(value) == "\r\n"
}

func fingerprintsOf(keys []credentials.AuthorizedKey) map[string]bool {
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k.Fingerprint] = true
	}
	return out
}

func keptOrNone(kept bool, what string) string {
	if kept {
		return "; the endpoint keeps serving the last good " + what
	}
	return "; there is no earlier " + what + " to keep, so none is served"
}

// whyCannotLogIn says, in the TransferUser's terms, why an entry that failed validation cannot log in.
func whyCannotLogIn(u serverconfig.User) string {
	switch {
	case u.PasswordHash == "" && len(u.AuthorizedKeys) == 0:
		return "it needs a password (spec.password or spec.generatePassword) or spec.authorizedKeys"
	case u.PasswordHash == "" && slices.Contains(u.Protocols, serverconfig.ProtocolFTP):
		return "'ftp' in spec.protocols needs a password"
	case u.RequireAllAuthMethods:
		return "spec.requireAllAuthMethods needs both a password and a key"
	}
	return "its credentials do not satisfy its spec"
}

func credentialSummary(u serverconfig.User) string {
	var parts []string
	if u.PasswordHash != "" {
		parts = append(parts, "a password")
	}
	if n := len(u.AuthorizedKeys); n > 0 {
		parts = append(parts, fmt.Sprintf("%d keys", n))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " and ")
}

func lines(keys []credentials.AuthorizedKey) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.Line)
	}
	return out
}

// appendUnique appends the lines of more that a are missing; the same key in the Secret and inline is one key.
func appendUnique(a, more []string) []string {
	out := slices.Clone(a)
	for _, line := range more {
		if !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// EntrySize is how many bytes the entry adds to the rendered config.
func EntrySize(u serverconfig.User) int {
	cfg := serverconfig.Config{Users: []serverconfig.User{u}}
	data, err := cfg.Marshal()
	if err != nil {
		return 0
	}
	return len(data)
}

// ErrUnreadable reports whether any problem is a Secret that could not be read, worth a retry soon.
func ErrUnreadable(problems []*Problem) error {
	var errs []error
	for _, p := range problems {
		if p.Reason == transferv1alpha1.ReasonSecretUnreadable {
			errs = append(errs, p)
		}
	}
	return errors.Join(errs...)
}
