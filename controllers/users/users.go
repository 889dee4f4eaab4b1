/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package users turns a TransferUser and the Secrets it references into the server-config entry of that login.
//
// Both reconcilers use it: the endpoint reconciler to render the config it serves, the user reconciler to tell the
// user whether that config serves its current credentials. Sharing one function keeps the two from ever disagreeing
// about which users are valid and who owns a username.
package users

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/controllers/credentials"
	"github.com/pier-dev/pier/server/config"
)

// Reasons a TransferUser cannot be served, used as its Ready condition's reason.
const (
	ReasonSecretNotFound        = "SecretNotFound"
	ReasonSecretKeyNotFound     = "SecretKeyNotFound"
	ReasonInvalidPassword       = "InvalidPassword"
	ReasonInvalidAuthorizedKeys = "InvalidAuthorizedKeys"
	ReasonPasswordPending       = "GeneratedPasswordPending"
	ReasonInvalidUser           = "InvalidUser"
	// ReasonSecretUnreadable is an API error other than not-found (RBAC, API server down): not the user's
	// fault, and worth a retry.
	ReasonSecretUnreadable = "SecretUnreadable"
)

// Problem is why a user's credentials cannot be used, in words the owner of the TransferUser can act on.
type Problem struct {
	Reason  string
	Message string
	// Secret is the namespace-local name of the Secret at fault, "" when no Secret is.
	Secret string
}

func (p *Problem) Error() string { return p.Message }

// GeneratedPasswordSecretName is the Secret the operator writes a generated password into.
func GeneratedPasswordSecretName(tu *transferv1alpha1.TransferUser) string {
	return tu.Name + "-password"
}

// PasswordRef is where the user's password lives: spec.password, or the generated Secret. Nil when the user logs
// in with keys only.
func PasswordRef(tu *transferv1alpha1.TransferUser) *transferv1alpha1.SecretKeyReference {
	switch {
	case tu.Spec.Password != nil:
		return &transferv1alpha1.SecretKeyReference{
			Name: tu.Spec.Password.SecretRef.Name,
			Key:  keyOrDefault(tu.Spec.Password.SecretRef.Key, transferv1alpha1.DefaultPasswordKey),
		}
	case tu.Spec.GeneratePassword:
		return &transferv1alpha1.SecretKeyReference{
			Name: GeneratedPasswordSecretName(tu), Key: transferv1alpha1.DefaultPasswordKey,
		}
	}
	return nil
}

// ReferencedSecrets lists the names of every Secret the user reads, for the field index that maps a changed
// Secret to its users.
func ReferencedSecrets(tu *transferv1alpha1.TransferUser) []string {
	var names []string
	if ref := PasswordRef(tu); ref != nil {
		names = append(names, ref.Name)
	}
	if ak := tu.Spec.AuthorizedKeys; ak != nil && ak.SecretRef != nil {
		names = append(names, ak.SecretRef.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Credentials are a user's login material as read from its Secrets.
type Credentials struct {
	// Password is the Secret's value: a plaintext password or a bcrypt hash. Nil for a user without password.
	Password []byte
	// Keys are the authorized keys, from the Secret and then the inline list.
	Keys []credentials.AuthorizedKey
}

// Read reads the user's Secrets. Secrets are read directly from the API server, never from a cache: the
// operator does not keep users' Secret contents in memory.
func Read(ctx context.Context, c client.Reader, tu *transferv1alpha1.TransferUser) (Credentials, *Problem) {
	var creds Credentials
	if ref := PasswordRef(tu); ref != nil {
		value, problem := readKey(ctx, c, tu.Namespace, *ref)
		if problem != nil {
			if tu.Spec.Password == nil && problem.Reason == ReasonSecretNotFound {
				problem = &Problem{Reason: ReasonPasswordPending, Secret: ref.Name,
					Message: fmt.Sprintf("waiting for the generated password Secret %s", ref.Name)}
			}
			return Credentials{}, problem
		}
		creds.Password = value
	}
	if ak := tu.Spec.AuthorizedKeys; ak != nil {
		if ak.SecretRef != nil {
			ref := *ak.SecretRef
			ref.Key = keyOrDefault(ref.Key, transferv1alpha1.DefaultAuthorizedKeysKey)
			value, problem := readKey(ctx, c, tu.Namespace, ref)
			if problem != nil {
				return Credentials{}, problem
			}
			keys, err := credentials.ParseAuthorizedKeys(value)
			if err != nil {
				return Credentials{}, &Problem{Reason: ReasonInvalidAuthorizedKeys, Secret: ref.Name,
					Message: fmt.Sprintf("Secret %s key %s: %v", ref.Name, ref.Key, err)}
			}
			creds.Keys = append(creds.Keys, keys...)
		}
		if len(ak.Keys) > 0 {
			keys, err := credentials.ParseAuthorizedKeyLines(ak.Keys)
			if err != nil {
				return Credentials{}, &Problem{Reason: ReasonInvalidAuthorizedKeys,
					Message: fmt.Sprintf("spec.authorizedKeys.keys: %v", err)}
			}
			creds.Keys = append(creds.Keys, keys...)
		}
	}
	// The same key in the Secret and inline is one key; the first occurrence (the Secret's) wins.
	seen := map[string]bool{}
	creds.Keys = slices.DeleteFunc(creds.Keys, func(k credentials.AuthorizedKey) bool {
		dup := seen[k.Fingerprint]
		seen[k.Fingerprint] = true
		return dup
	})
	return creds, nil
}

func readKey(ctx context.Context, c client.Reader, namespace string, ref transferv1alpha1.SecretKeyReference) ([]byte, *Problem) {
	var secret corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &Problem{Reason: ReasonSecretNotFound, Secret: ref.Name,
				Message: fmt.Sprintf("Secret %s not found in namespace %s", ref.Name, namespace)}
		}
		// Anything else (RBAC, API down) is not the user's fault: the caller retries.
		return nil, &Problem{Reason: ReasonSecretUnreadable, Secret: ref.Name,
			Message: fmt.Sprintf("reading Secret %s: %v", ref.Name, err)}
	}
	value, ok := secret.Data[ref.Key]
	if !ok {
		return nil, &Problem{Reason: ReasonSecretKeyNotFound, Secret: ref.Name,
			Message: fmt.Sprintf("Secret %s has no key %q (it has: %s)", ref.Name, ref.Key, strings.Join(keysOf(secret.Data), ", "))}
	}
	return value, nil
}

// Entry is the user's server-config entry without its password hash.
func Entry(tu *transferv1alpha1.TransferUser, creds Credentials) config.User {
	u := config.User{
		Username:              tu.Spec.Username,
		HomeDirectory:         tu.Spec.HomeDirectory,
		RequireAllAuthMethods: tu.Spec.RequireAllAuthMethods,
		Disabled:              tu.Spec.Disabled,
	}
	for _, k := range creds.Keys {
		u.AuthorizedKeys = append(u.AuthorizedKeys, k.Line)
	}
	for _, p := range tu.Spec.Permissions {
		u.Permissions = append(u.Permissions, config.Permission(p))
	}
	for _, p := range tu.Spec.Protocols {
		u.Protocols = append(u.Protocols, config.Protocol(p))
	}
	for _, cidr := range tu.Spec.AllowedSourceRanges {
		u.AllowedSourceRanges = append(u.AllowedSourceRanges, string(cidr))
	}
	// The server fills the same defaults when it parses the file; doing it here keeps the rendered file and the
	// comparison in Serves exact.
	cfg := config.Config{Users: []config.User{u}}
	cfg.ApplyDefaults()
	return cfg.Users[0]
}

// Render is the user's complete server-config entry. previousHash is the hash the endpoint serves for this user
// now, "" if none: an unchanged password keeps it, so a reconcile never re-salts and the config stays
// byte-identical.
func Render(tu *transferv1alpha1.TransferUser, creds Credentials, previousHash string) (config.User, *Problem) {
	u := Entry(tu, creds)
	if creds.Password != nil {
		hash, err := credentials.HashPassword(creds.Password, previousHash)
		if err != nil {
			ref := PasswordRef(tu)
			return config.User{}, &Problem{Reason: ReasonInvalidPassword, Secret: ref.Name,
				Message: fmt.Sprintf("Secret %s key %s: %v", ref.Name, ref.Key, err)}
		}
		u.PasswordHash = hash
	}
	if err := u.Validate(); err != nil {
		return config.User{}, &Problem{Reason: ReasonInvalidUser, Message: err.Error()}
	}
	return u, nil
}

// Diff names the fields in which two entries differ, for logs (it never shows a hash).
func Diff(a, b config.User) []string {
	var out []string
	add := func(field string, same bool) {
		if !same {
			out = append(out, field)
		}
	}
	add("username", a.Username == b.Username)
	add("passwordHash", a.PasswordHash == b.PasswordHash)
	add("homeDirectory", a.HomeDirectory == b.HomeDirectory)
	add("requireAllAuthMethods", a.RequireAllAuthMethods == b.RequireAllAuthMethods)
	add("disabled", a.Disabled == b.Disabled)
	add("authorizedKeys", slices.Equal(a.AuthorizedKeys, b.AuthorizedKeys))
	add("permissions", slices.Equal(a.Permissions, b.Permissions))
	add("protocols", slices.Equal(a.Protocols, b.Protocols))
	add("allowedSourceRanges", slices.Equal(a.AllowedSourceRanges, b.AllowedSourceRanges))
	return out
}

// Equal reports whether two config entries are the same login with the same settings and credentials. The user
// reconciler compares Render's result (which keeps the served hash of an unchanged password) with the entry the
// endpoint serves.
func Equal(a, b config.User) bool { return len(Diff(a, b)) == 0 }

// Owners decides who owns each username on one endpoint: the oldest TransferUser, then the one whose name sorts
// first. It returns username -> TransferUser name. A newer duplicate never takes a login away from the user that
// had it first.
func Owners(list []transferv1alpha1.TransferUser) map[string]string {
	sorted := slices.Clone(list)
	slices.SortFunc(sorted, func(a, b transferv1alpha1.TransferUser) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	owners := make(map[string]string, len(sorted))
	for _, tu := range sorted {
		if _, taken := owners[tu.Spec.Username]; !taken {
			owners[tu.Spec.Username] = tu.Name
		}
	}
	return owners
}

func keyOrDefault(key, def string) string {
	if key == "" {
		return def
	}
	return key
}

func keysOf(data map[string][]byte) []string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return []string{"none"}
	}
	return keys
}
