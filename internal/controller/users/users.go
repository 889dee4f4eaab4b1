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

// Package users turns a TransferUser and the Secrets it references into the server-config entry of that login.
//
// Both reconcilers use it: the endpoint reconciler to render the config it serves, the user reconciler to tell the
// user whether that config serves its current credentials. Sharing one function keeps the two from ever disagreeing
// about which users are valid and who owns a username, and sharing one Resolver makes them resolve each change of a
// user once between them.
package users

import (
	"slices"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/serverconfig"
)

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
			Name: render.GeneratedPasswordSecretName(tu), Key: transferv1alpha1.DefaultPasswordKey,
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

// Entry is the user's server-config entry from its spec, with the given authorized_keys lines and no password
// hash.
func Entry(tu *transferv1alpha1.TransferUser, keys []string) serverconfig.User {
	u := serverconfig.User{
		Username:              tu.Spec.Username,
		HomeDirectory:         tu.Spec.HomeDirectory,
		RequireAllAuthMethods: tu.Spec.RequireAllAuthMethods,
		Disabled:              tu.Spec.Disabled,
	}
	u.AuthorizedKeys = slices.Clone(keys)
	for _, p := range tu.Spec.Permissions {
		u.Permissions = append(u.Permissions, serverconfig.Permission(p))
	}
	for _, p := range tu.Spec.Protocols {
		u.Protocols = append(u.Protocols, serverconfig.Protocol(p))
	}
	for _, cidr := range tu.Spec.AllowedSourceRanges {
		u.AllowedSourceRanges = append(u.AllowedSourceRanges, string(cidr))
	}
	// The server fills the same defaults when it parses the file; doing it here keeps the rendered file and the
	// comparison in Serves exact.
	cfg := serverconfig.Config{Users: []serverconfig.User{u}}
	cfg.ApplyDefaults()
	return cfg.Users[0]
}

// Diff names the fields in which two entries differ, for logs (it never shows a hash).
func Diff(a, b serverconfig.User) []string {
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
func Equal(a, b serverconfig.User) bool { return len(Diff(a, b)) == 0 }

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
