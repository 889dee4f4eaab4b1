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

package users

import (
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/controllers/credentials"
	"github.com/pier-dev/pier/server/config"
)

// ed25519Key is a random, valid ed25519 authorized key.
func ed25519Key(t *testing.T, comment string) credentials.AuthorizedKey {
	t.Helper()
	pub := make([]byte, 32)
	_, _ = rand.Read(pub)
	wire := ssh.Marshal(struct {
		Type string
		Key  []byte
	}{ssh.KeyAlgoED25519, pub})
	keys, err := credentials.ParseAuthorizedKeyLines([]string{"ssh-ed25519 " + base64.StdEncoding.EncodeToString(wire) + " " + comment})
	if err != nil {
		t.Fatal(err)
	}
	return keys[0]
}

func hashOf(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func passwordUser(protocols ...transferv1alpha1.Protocol) *transferv1alpha1.TransferUser {
	return &transferv1alpha1.TransferUser{Spec: transferv1alpha1.TransferUserSpec{
		Username: "heidi", EndpointRef: transferv1alpha1.LocalObjectReference{Name: "ep"},
		Password:  &transferv1alpha1.PasswordSource{SecretRef: transferv1alpha1.SecretKeyReference{Name: "heidi-pw"}},
		Protocols: protocols,
		AuthorizedKeys: &transferv1alpha1.AuthorizedKeysSource{
			SecretRef: &transferv1alpha1.SecretKeyReference{Name: "heidi-keys"},
		},
	}}
}

var (
	missing   = &Problem{Reason: ReasonSecretNotFound, Effect: Revoked, Message: "Secret x not found"}
	malformed = &Problem{Reason: ReasonInvalidAuthorizedKeys, Effect: KeptLastGood, Message: "Secret x key y: line 2: bad"}
)

// TestRenderRules checks the rules for credentials whose Secrets change: gone revokes, broken keeps the last good
// value of that credential only, the spec always applies, and a user left unable to log in as asked is disabled.
func TestRenderRules(t *testing.T) {
	oldKey, newKey, inline := ed25519Key(t, "old"), ed25519Key(t, "new"), ed25519Key(t, "inline")
	oldHash := hashOf(t, "old password")
	served := &config.User{Username: "heidi", PasswordHash: oldHash, HomeDirectory: "/heidi",
		AuthorizedKeys: []string{oldKey.Line, inline.Line}, Permissions: []config.Permission{config.PresetReadWrite}}

	t.Run("password Secret gone: the password is revoked, the keys stay", func(t *testing.T) {
		u, problems := Render(passwordUser(), Credentials{PasswordProblem: cloneProblem(missing), SecretKeys: []credentials.AuthorizedKey{newKey}}, served)
		if u == nil || u.PasswordHash != "" || u.Disabled || !slices.Equal(u.AuthorizedKeys, []string{newKey.Line}) {
			t.Fatalf("entry %+v", u)
		}
		if len(problems) != 1 || !strings.Contains(problems[0].Message, "revoked") {
			t.Fatalf("problems %v", problems)
		}
	})
	t.Run("both gone: served disabled", func(t *testing.T) {
		u, problems := Render(passwordUser(), Credentials{PasswordProblem: cloneProblem(missing), KeysProblem: cloneProblem(missing)}, served)
		if u == nil || !u.Disabled || u.PasswordHash != "" || len(u.AuthorizedKeys) != 0 {
			t.Fatalf("entry %+v, want disabled without credentials", u)
		}
		if problems[len(problems)-1].Reason != ReasonNoCredentials {
			t.Fatalf("problems %v", problems)
		}
	})
	t.Run("both gone, never served: not served", func(t *testing.T) {
		u, problems := Render(passwordUser(), Credentials{PasswordProblem: cloneProblem(missing), KeysProblem: cloneProblem(missing)}, nil)
		if u != nil || len(problems) == 0 {
			t.Fatalf("entry %+v problems %v", u, problems)
		}
	})
	t.Run("FTP user whose password is gone: disabled, not let in with keys", func(t *testing.T) {
		u, _ := Render(passwordUser("ftp", "sftp"), Credentials{PasswordProblem: cloneProblem(missing), SecretKeys: []credentials.AuthorizedKey{newKey}}, served)
		if u == nil || !u.Disabled {
			t.Fatalf("entry %+v, want disabled", u)
		}
	})
	t.Run("keys Secret broken: its last good keys stay, not the removed inline one", func(t *testing.T) {
		tu := passwordUser()
		tu.Spec.AuthorizedKeys.Keys = []string{inline.Line}
		u, problems := Render(tu, Credentials{Password: []byte("old password"), KeysProblem: cloneProblem(malformed), InlineKeys: []credentials.AuthorizedKey{inline}}, served)
		if u == nil || u.PasswordHash != oldHash || !slices.Equal(u.AuthorizedKeys, []string{oldKey.Line, inline.Line}) {
			t.Fatalf("entry %+v", u)
		}
		if !strings.Contains(problems[0].Message, "last good keys") {
			t.Fatalf("problems %v", problems)
		}
	})
	t.Run("keys Secret gone: only inline keys", func(t *testing.T) {
		tu := passwordUser()
		tu.Spec.AuthorizedKeys.Keys = []string{inline.Line}
		u, _ := Render(tu, Credentials{Password: []byte("old password"), KeysProblem: cloneProblem(missing), InlineKeys: []credentials.AuthorizedKey{inline}}, served)
		if u == nil || !slices.Equal(u.AuthorizedKeys, []string{inline.Line}) {
			t.Fatalf("entry %+v", u)
		}
	})
	t.Run("password unusable: the last good hash stays, and restrictions of the spec apply", func(t *testing.T) {
		tu := passwordUser()
		tu.Spec.Permissions = []transferv1alpha1.Permission{transferv1alpha1.PermissionReadOnly}
		tu.Spec.AllowedSourceRanges = []transferv1alpha1.CIDR{"192.0.2.0/24"}
		tu.Spec.Protocols = []transferv1alpha1.Protocol{"sftp"}
		u, problems := Render(tu, Credentials{Password: []byte("two\nlines"), SecretKeys: []credentials.AuthorizedKey{newKey}}, served)
		if u == nil || u.PasswordHash != oldHash {
			t.Fatalf("entry %+v, want the last good hash", u)
		}
		if !slices.Equal(u.Permissions, []config.Permission{config.PresetReadOnly}) ||
			!slices.Equal(u.AllowedSourceRanges, []string{"192.0.2.0/24"}) || !slices.Equal(u.Protocols, []config.Protocol{"sftp"}) {
			t.Fatalf("the spec's restrictions were not applied: %+v", u)
		}
		if len(problems) != 1 || problems[0].Reason != ReasonInvalidPassword {
			t.Fatalf("problems %v", problems)
		}
	})
	t.Run("unchanged password keeps its hash", func(t *testing.T) {
		u, problems := Render(passwordUser(), Credentials{Password: []byte("old password\n"), SecretKeys: []credentials.AuthorizedKey{oldKey}}, served)
		if u == nil || u.PasswordHash != oldHash || len(problems) != 0 {
			t.Fatalf("entry %+v problems %v", u, problems)
		}
	})
	t.Run("keys Secret over the size limit: last good keys", func(t *testing.T) {
		var many []credentials.AuthorizedKey
		for range MaxKeysPerUser {
			k := ed25519Key(t, strings.Repeat("c", 2000))
			many = append(many, k)
		}
		u, problems := Render(passwordUser(), Credentials{Password: []byte("old password"), SecretKeys: many}, served)
		if u == nil || !slices.Equal(u.AuthorizedKeys, []string{oldKey.Line, inline.Line}) {
			t.Fatalf("entry %+v", u)
		}
		if problems[0].Reason != ReasonEntryTooLarge {
			t.Fatalf("problems %v", problems)
		}
	})
	t.Run("inline keys over the size limit: not served", func(t *testing.T) {
		tu := passwordUser()
		tu.Spec.AuthorizedKeys.SecretRef = nil
		var many []credentials.AuthorizedKey
		for range MaxKeysPerUser {
			many = append(many, ed25519Key(t, strings.Repeat("c", 2000)))
		}
		u, problems := Render(tu, Credentials{Password: []byte("old password"), InlineKeys: many}, served)
		if u != nil || problems[len(problems)-1].Reason != ReasonEntryTooLarge || problems[len(problems)-1].Effect != Refused {
			t.Fatalf("entry %+v problems %v", u, problems)
		}
	})
}

func cloneProblem(p *Problem) *Problem {
	c := *p
	return &c
}
