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
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/serverconfig"
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
	missing   = &Problem{Reason: transferv1alpha1.ReasonSecretNotFound, Effect: Revoked, Message: "Secret x not found"}
	malformed = &Problem{Reason: transferv1alpha1.ReasonInvalidAuthorizedKeys, Effect: KeptLastGood, Message: "Secret x key y: line 2: bad"}
)

// renderCase is one situation of a user's Secrets and spec, and what Render must make of it.
type renderCase struct {
	name   string
	tu     func() *transferv1alpha1.TransferUser
	creds  Credentials
	served *serverconfig.User
	check  func(u *serverconfig.User, problems []*Problem) error
}

// renderFixture is what the render cases share: the keys and hash the endpoint serves for heidi.
type renderFixture struct {
	oldKey, newKey, inline credentials.AuthorizedKey
	oldHash                string
	served                 *serverconfig.User
}

func newRenderFixture(t *testing.T) renderFixture {
	f := renderFixture{oldKey: ed25519Key(t, "old"), newKey: ed25519Key(t, "new"), inline: ed25519Key(t, "inline"),
		oldHash: hashOf(t, "old password")}
	f.served = &serverconfig.User{Username: "heidi", PasswordHash: f.oldHash, HomeDirectory: "/heidi",
		AuthorizedKeys: []string{f.oldKey.Line, f.inline.Line}, Permissions: []serverconfig.Permission{serverconfig.PresetReadWrite}}
	return f
}

func (f renderFixture) withInline() *transferv1alpha1.TransferUser {
	tu := passwordUser()
	tu.Spec.AuthorizedKeys.Keys = []string{f.inline.Line}
	return tu
}

// TestRenderRules checks the rules for credentials whose Secrets change: gone revokes, broken keeps the last good
// value of that credential only, the spec always applies, and a user left unable to log in as asked is disabled.
func TestRenderRules(t *testing.T) {
	f := newRenderFixture(t)
	for _, tc := range append(revocationCases(f), keptAndLimitCases(t, f)...) {
		t.Run(tc.name, func(t *testing.T) {
			u, problems := Render(tc.tu(), tc.creds, tc.served)
			if err := tc.check(u, problems); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRenderAgainstItsResult: rendering a user again against the entry it rendered to, as once the endpoint
// serves that entry, gives the same entry and the same problems. Resolver relies on it to reuse a resolution
// for the pass after the endpoint wrote it.
func TestRenderAgainstItsResult(t *testing.T) {
	f := newRenderFixture(t)
	changed := renderCase{name: "changed password: a new hash", tu: plain,
		creds: Credentials{Password: []byte("new password"), SecretKeys: []credentials.AuthorizedKey{f.oldKey}}, served: f.served}
	for _, tc := range append(append(revocationCases(f), keptAndLimitCases(t, f)...), changed) {
		t.Run(tc.name, func(t *testing.T) {
			u, problems := Render(tc.tu(), cloneCredentials(tc.creds), tc.served)
			if u == nil {
				return // not served: the endpoint goes on serving nothing, and Resolver renders again
			}
			again, againProblems := Render(tc.tu(), cloneCredentials(tc.creds), u)
			if again == nil || !Equal(*again, *u) {
				t.Fatalf("rendered against its result: %+v, want %+v", again, u)
			}
			if len(againProblems) != len(problems) {
				t.Fatalf("problems %v, then %v", problems, againProblems)
			}
			for i := range problems {
				if *againProblems[i] != *problems[i] {
					t.Errorf("problem %d: %+v, then %+v", i, *problems[i], *againProblems[i])
				}
			}
		})
	}
}

// cloneCredentials copies the problems, which Render completes in place.
func cloneCredentials(c Credentials) Credentials {
	if c.PasswordProblem != nil {
		c.PasswordProblem = cloneProblem(c.PasswordProblem)
	}
	if c.KeysProblem != nil {
		c.KeysProblem = cloneProblem(c.KeysProblem)
	}
	return c
}

func plain() *transferv1alpha1.TransferUser { return passwordUser() }

// revocationCases: Secrets that are gone.
func revocationCases(f renderFixture) []renderCase {
	return []renderCase{
		{"password Secret gone: the password is revoked, the keys stay", plain,
			Credentials{PasswordProblem: cloneProblem(missing), SecretKeys: []credentials.AuthorizedKey{f.newKey}}, f.served,
			func(u *serverconfig.User, p []*Problem) error {
				return expect(u != nil && u.PasswordHash == "" && !u.Disabled && slices.Equal(u.AuthorizedKeys, []string{f.newKey.Line}) &&
					len(p) == 1 && strings.Contains(p[0].Message, "revoked"), u, p)
			}},
		{"both gone: served disabled", plain,
			Credentials{PasswordProblem: cloneProblem(missing), KeysProblem: cloneProblem(missing)}, f.served,
			func(u *serverconfig.User, p []*Problem) error {
				return expect(u != nil && u.Disabled && u.PasswordHash == "" && len(u.AuthorizedKeys) == 0 &&
					p[len(p)-1].Reason == transferv1alpha1.ReasonNoCredentials, u, p)
			}},
		{"both gone, never served: not served", plain,
			Credentials{PasswordProblem: cloneProblem(missing), KeysProblem: cloneProblem(missing)}, nil,
			func(u *serverconfig.User, p []*Problem) error { return expect(u == nil && len(p) > 0, u, p) }},
		{"FTP user whose password is gone: disabled, not let in with keys", func() *transferv1alpha1.TransferUser { return passwordUser("ftp", "sftp") },
			Credentials{PasswordProblem: cloneProblem(missing), SecretKeys: []credentials.AuthorizedKey{f.newKey}}, f.served,
			func(u *serverconfig.User, p []*Problem) error { return expect(u != nil && u.Disabled, u, p) }},
		{"password Secret emptied: revoked", plain,
			Credentials{PasswordProblem: &Problem{Reason: transferv1alpha1.ReasonPasswordEmpty, Effect: Revoked, Message: "Secret x key y is empty"},
				SecretKeys: []credentials.AuthorizedKey{f.newKey}}, f.served,
			func(u *serverconfig.User, p []*Problem) error {
				return expect(u != nil && u.PasswordHash == "" && strings.Contains(p[0].Message, "revoked"), u, p)
			}},
		{"keys Secret gone: only inline keys", f.withInline,
			Credentials{Password: []byte("old password"), KeysProblem: cloneProblem(missing), InlineKeys: []credentials.AuthorizedKey{f.inline}}, f.served,
			func(u *serverconfig.User, p []*Problem) error {
				return expect(u != nil && slices.Equal(u.AuthorizedKeys, []string{f.inline.Line}), u, p)
			}},
	}
}

// keptAndLimitCases: Secrets that exist but cannot be used, limits, and the spec applying regardless.
func keptAndLimitCases(t *testing.T, f renderFixture) []renderCase {
	restricted := func() *transferv1alpha1.TransferUser {
		tu := passwordUser()
		tu.Spec.Permissions = []transferv1alpha1.Permission{transferv1alpha1.PermissionReadOnly}
		tu.Spec.AllowedSourceRanges = []transferv1alpha1.CIDR{"192.0.2.0/24"}
		tu.Spec.Protocols = []transferv1alpha1.Protocol{"sftp"}
		return tu
	}
	inlineOnly := func() *transferv1alpha1.TransferUser {
		tu := passwordUser()
		tu.Spec.AuthorizedKeys.SecretRef = nil
		return tu
	}
	bulky := make([]credentials.AuthorizedKey, 0, MaxKeysPerUser)
	for range MaxKeysPerUser {
		bulky = append(bulky, ed25519Key(t, strings.Repeat("c", 2000)))
	}
	return []renderCase{
		{"keys Secret broken: its last good keys stay, not the removed inline one", f.withInline,
			Credentials{Password: []byte("old password"), KeysProblem: cloneProblem(malformed), InlineKeys: []credentials.AuthorizedKey{f.inline}}, f.served,
			func(u *serverconfig.User, p []*Problem) error {
				return expect(u != nil && u.PasswordHash == f.oldHash && slices.Equal(u.AuthorizedKeys, []string{f.oldKey.Line, f.inline.Line}) &&
					strings.Contains(p[0].Message, "last good keys"), u, p)
			}},
		{"keys Secret broken and the old key removed from it: not kept", f.withInline,
			Credentials{Password: []byte("old password"), KeysProblem: cloneProblem(malformed), InlineKeys: []credentials.AuthorizedKey{f.inline},
				Listed: map[string]bool{f.newKey.Fingerprint: true}}, f.served,
			func(u *serverconfig.User, p []*Problem) error {
				return expect(u != nil && slices.Equal(u.AuthorizedKeys, []string{f.inline.Line}) &&
					strings.Contains(p[0].Message, "no earlier keys"), u, p)
			}},
		{"password unusable: the last good hash stays, and restrictions of the spec apply", restricted,
			Credentials{Password: []byte("two\nlines"), SecretKeys: []credentials.AuthorizedKey{f.newKey}}, f.served,
			func(u *serverconfig.User, p []*Problem) error {
				return expect(u != nil && u.PasswordHash == f.oldHash &&
					slices.Equal(u.Permissions, []serverconfig.Permission{serverconfig.PresetReadOnly}) &&
					slices.Equal(u.AllowedSourceRanges, []string{"192.0.2.0/24"}) && slices.Equal(u.Protocols, []serverconfig.Protocol{"sftp"}) &&
					len(p) == 1 && p[0].Reason == transferv1alpha1.ReasonInvalidPassword, u, p)
			}},
		{"unchanged password keeps its hash", plain,
			Credentials{Password: []byte("old password\n"), SecretKeys: []credentials.AuthorizedKey{f.oldKey}}, f.served,
			func(u *serverconfig.User, p []*Problem) error {
				return expect(u != nil && u.PasswordHash == f.oldHash && len(p) == 0, u, p)
			}},
		{"keys Secret over the size limit: the last good keys it still lists", plain,
			Credentials{Password: []byte("old password"), SecretKeys: append([]credentials.AuthorizedKey{f.oldKey}, bulky...)}, f.served,
			func(u *serverconfig.User, p []*Problem) error {
				return expect(u != nil && slices.Equal(u.AuthorizedKeys, []string{f.oldKey.Line}) &&
					p[0].Reason == transferv1alpha1.ReasonEntryTooLarge, u, p)
			}},
		{"inline keys over the size limit: not served", inlineOnly,
			Credentials{Password: []byte("old password"), InlineKeys: bulky}, f.served,
			func(u *serverconfig.User, p []*Problem) error {
				return expect(u == nil && p[len(p)-1].Reason == transferv1alpha1.ReasonEntryTooLarge && p[len(p)-1].Effect == Refused, u, p)
			}},
	}
}

// expect is nil when ok, else an error showing what Render returned.
func expect(ok bool, u *serverconfig.User, problems []*Problem) error {
	if ok {
		return nil
	}
	msgs := make([]string, 0, len(problems))
	for _, p := range problems {
		msgs = append(msgs, p.Reason+": "+p.Message)
	}
	return fmt.Errorf("entry %+v\nproblems %q", u, msgs)
}

func cloneProblem(p *Problem) *Problem {
	c := *p
	return &c
}
