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

package controller_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/hostkeys"
	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// TestDeletedPasswordSecretRevokesThePassword: a password Secret (or its key) that disappears takes the password
// away at once; the user, left without a way to log in, is served disabled (refused, sessions closed) and says
// why. A new Secret brings the login back.
func TestDeletedPasswordSecretRevokesThePassword(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	heidi := createPasswordUser(t, ns, "heidi")
	condition(t, heidi, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")

	if err := k8s.Delete(context.Background(), passwordSecret(ns, "heidi-pw", "")); err != nil {
		t.Fatal(err)
	}
	c := condition(t, heidi, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "NoCredentials")
	if !strings.Contains(c.Message, "heidi-pw") || !strings.Contains(c.Message, "revoked") {
		t.Errorf("the message should name the Secret and say the password is revoked: %s", c.Message)
	}
	warning(t, ns, "heidi", "NoCredentials")
	eventually(t, func() error {
		if u := userEntry(t, te, "heidi", true); !u.Disabled || u.PasswordHash != "" {
			return fmt.Errorf("heidi is served with disabled=%v and a password hash of %d bytes", u.Disabled, len(u.PasswordHash))
		}
		return nil
	})

	// A Secret without the key is the same as none.
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "heidi-pw"}, Data: map[string][]byte{"other": []byte("x")}})
	condition(t, heidi, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "NoCredentials")
	update(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "heidi-pw"}}, func(s *corev1.Secret) {
		s.Data["password"] = []byte("heidi's new password")
	})
	condition(t, heidi, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	if u := userEntry(t, te, "heidi", true); u.Disabled || u.PasswordHash == "" {
		t.Fatalf("heidi is not served again with her new password: %+v", u)
	}
}

// TestBrokenSecretKeepsOnlyThatCredential: a Secret that exists but cannot be used keeps that credential's last
// good value (with a Warning), and changes of the spec that restrict access apply at once all the same; a missing
// key Secret revokes the keys while the password stays.
func TestBrokenSecretKeepsOnlyThatCredential(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	create(t, passwordSecret(ns, "ivan-pw", "ivan's password"))
	key := authorizedKey(t)
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ivan-keys"},
		Data: map[string][]byte{"authorized_keys": []byte(key + "\n")}})
	ivan := withPassword(newUser(ns, "ivan", "ivan"), "ivan-pw")
	ivan.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{SecretRef: &transferv1alpha1.SecretKeyReference{Name: "ivan-keys"}}
	create(t, ivan)
	condition(t, ivan, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	good := userEntry(t, te, "ivan", true)

	// A malformed hash: the last good hash stays, and the spec's restrictions still reach the config.
	update(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ivan-pw"}}, func(s *corev1.Secret) {
		s.Data["password"] = []byte("$2a$31$thisisnotarealbcrypthashbutitlookslikeoneabcdefghijklm")
	})
	condition(t, ivan, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "InvalidPassword")
	warning(t, ns, "ivan", "InvalidPassword")
	update(t, ivan, func(tu *transferv1alpha1.TransferUser) {
		tu.Spec.Permissions = []transferv1alpha1.Permission{transferv1alpha1.PermissionReadOnly}
		tu.Spec.AllowedSourceRanges = []transferv1alpha1.CIDR{"192.0.2.0/24"}
		tu.Spec.Protocols = []transferv1alpha1.Protocol{"sftp"}
		tu.Spec.HomeDirectory = "/ivan/inbox"
	})
	eventually(t, func() error {
		u := userEntry(t, te, "ivan", true)
		if u.PasswordHash != good.PasswordHash {
			return fmt.Errorf("the last good hash was not kept")
		}
		if !slices.Equal(u.Permissions, []serverconfig.Permission{serverconfig.PresetReadOnly}) || u.HomeDirectory != "/ivan/inbox" ||
			!slices.Equal(u.AllowedSourceRanges, []string{"192.0.2.0/24"}) || !slices.Equal(u.Protocols, []serverconfig.Protocol{"sftp"}) {
			return fmt.Errorf("the restrictions did not reach the config while the Secret is broken: %+v", u)
		}
		return nil
	})

	// The key Secret goes: the keys are revoked, the (last good) password stays.
	if err := k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ivan-keys"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if u := userEntry(t, te, "ivan", true); len(u.AuthorizedKeys) != 0 || u.PasswordHash != good.PasswordHash || u.Disabled {
			return fmt.Errorf("ivan is served with %d keys, disabled=%v", len(u.AuthorizedKeys), u.Disabled)
		}
		return nil
	})
	c := condition(t, ivan, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "SecretNotFound")
	if !strings.Contains(c.Message, "ivan-keys") || !strings.Contains(c.Message, "revoked") {
		t.Errorf("the message should say the keys of ivan-keys are revoked: %s", c.Message)
	}
}

// TestTooManyKeysLeavesOnlyThatUserBehind is the report's reproduction: one user's authorized_keys Secret grows
// to 12,000 keys. That user keeps its last good keys and says why; every other change still reaches the config: a
// deleted user is removed, a disabled one disabled, a new one added.
func TestTooManyKeysLeavesOnlyThatUserBehind(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	first := authorizedKey(t)
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mallory-keys"},
		Data: map[string][]byte{"authorized_keys": []byte(first + "\n")}})
	mallory := newUser(ns, "mallory", "mallory")
	mallory.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{SecretRef: &transferv1alpha1.SecretKeyReference{Name: "mallory-keys"}}
	create(t, mallory)
	others := make([]*transferv1alpha1.TransferUser, 0, 2)
	for _, name := range []string{"walt", "xena"} {
		create(t, passwordSecret(ns, name+"-pw", name+"'s password"))
		tu := withPassword(newUser(ns, name, name), name+"-pw")
		create(t, tu)
		others = append(others, tu)
	}
	for _, tu := range append(others, mallory) {
		condition(t, tu, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	}

	// The first key stays listed among the new ones: only last good keys the Secret still lists are kept.
	var many strings.Builder
	many.WriteString(first + "\n")
	for range 11999 {
		many.WriteString(randomEd25519Line() + "\n")
	}
	if many.Len() < 1<<20-100_000 {
		t.Fatalf("the keys take only %d bytes; the reproduction needs about a megabyte", many.Len())
	}
	update(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mallory-keys"}}, func(s *corev1.Secret) {
		s.Data["authorized_keys"] = []byte(many.String())
	})
	c := condition(t, mallory, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "TooManyKeys")
	if !strings.Contains(c.Message, "12000 keys") || !strings.Contains(c.Message, "last good keys") {
		t.Errorf("message %q", c.Message)
	}
	warning(t, ns, "mallory", "TooManyKeys")

	// Everything else still gets through.
	if err := k8s.Delete(context.Background(), others[0]); err != nil {
		t.Fatal(err)
	}
	update(t, others[1], func(tu *transferv1alpha1.TransferUser) { tu.Spec.Disabled = true })
	yuri := createPasswordUser(t, ns, "yuri")
	userEntry(t, te, "walt", false)
	condition(t, others[1], transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Disabled")
	condition(t, yuri, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	if u := userEntry(t, te, "mallory", true); !slices.Equal(u.AuthorizedKeys, []string{first}) {
		t.Fatalf("mallory is served with %d keys, want her last good one", len(u.AuthorizedKeys))
	}
	served := &transferv1alpha1.TransferEndpoint{}
	get(t, ns, te.Name, served)
	if c := condition(t, served, transferv1alpha1.ConditionReady, metav1.ConditionTrue, ""); c.Reason == "ReconcileFailed" {
		t.Fatalf("the endpoint failed: %s", c.Message)
	}
}

// TestOverlappingHomesAreRefused: a user whose home directory is, holds or lies inside an older user's home is not
// served, and says which user is in the way; an Administrator's home may hold the others.
func TestOverlappingHomesAreRefused(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	user := func(name, home string, access transferv1alpha1.Access) *transferv1alpha1.TransferUser {
		create(t, passwordSecret(ns, name+"-pw", name+"'s password"))
		tu := withPassword(newUser(ns, name, name), name+"-pw")
		tu.Spec.HomeDirectory, tu.Spec.Access = home, access
		create(t, tu)
		return tu
	}
	alice := user("alice", "/teams/a", "")
	condition(t, alice, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	inside := user("bob", "/teams/a/b", "")
	holding := user("carol", "/teams", "")
	same := user("dave", "/teams/a/", "")
	for _, tu := range []*transferv1alpha1.TransferUser{inside, holding, same} {
		c := condition(t, tu, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "HomeOverlap")
		if !strings.Contains(c.Message, "alice") {
			t.Errorf("%s: the message should name alice: %s", tu.Name, c.Message)
		}
		userEntry(t, te, tu.Spec.Username, false)
	}
	admin := user("root", "/", transferv1alpha1.AccessAdministrator)
	c := condition(t, admin, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	if !strings.Contains(c.Message, "Administrator") {
		t.Errorf("the message should say the user is an Administrator: %s", c.Message)
	}
	endpoint := &transferv1alpha1.TransferEndpoint{}
	get(t, ns, te.Name, endpoint)
	eventually(t, func() error {
		get(t, ns, te.Name, endpoint)
		c := findCondition(endpoint, transferv1alpha1.ConditionUsersServed)
		if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "bob (HomeOverlap)") {
			return fmt.Errorf("UsersServed is %+v", c)
		}
		return nil
	})

	// When the older user goes, the newer ones are judged again.
	if err := k8s.Delete(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	condition(t, inside, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
}

// TestEndpointUnavailable: a user is Ready only while its endpoint has a pod to accept it.
func TestEndpointUnavailable(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpointWithoutPods(t, ns)
	olga := createPasswordUser(t, ns, "olga")
	falseConditionSays(t, olga, transferv1alpha1.ConditionReady, "EndpointUnavailable", "0 of 1 pods available")
	userEntry(t, te, "olga", true)
	podsAvailable(t, te)
	condition(t, olga, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
}

// randomEd25519Line is a valid ed25519 authorized_keys line without a comment (80 bytes), made without key
// generation: any 32 bytes are an ed25519 public key as far as parsing goes.
func randomEd25519Line() string {
	pub := make([]byte, 32)
	_, _ = rand.Read(pub)
	wire := ssh.Marshal(struct {
		Type string
		Key  []byte
	}{ssh.KeyAlgoED25519, pub})
	return ssh.KeyAlgoED25519 + " " + base64.StdEncoding.EncodeToString(wire)
}

func findCondition(obj transferv1alpha1.Conditioned, condType string) *metav1.Condition {
	for _, c := range obj.GetConditions() {
		if c.Type == condType {
			return &c
		}
	}
	return nil
}

// TestGeneratedPasswordOnlyFromItsOwnSecret: a Secret named like a user's generated password but made by someone
// else is never used for that user's password.
func TestGeneratedPasswordOnlyFromItsOwnSecret(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	create(t, passwordSecret(ns, "gina-password", "chosen by someone else"))
	gina := newUser(ns, "gina", "gina")
	gina.Spec.GeneratePassword = true
	create(t, gina)
	c := condition(t, gina, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "PasswordSecretConflict")
	if !strings.Contains(c.Message, "gina-password") {
		t.Errorf("the message should name the Secret: %s", c.Message)
	}
	userEntry(t, te, "gina", false)
}

// TestPlantedSecretsAreNotTrusted: Secrets made, before the endpoint, under the names of its generated host keys or
// its config are never taken for the endpoint's own. Planted host keys would let whoever made them pose as the
// server; a planted config would pass off its entries as last good credentials, and its host-key files as proof
// that keys were served. (Found by the independent check of issue 11.)
func TestPlantedSecretsAreNotTrusted(t *testing.T) {
	t.Run("host keys", func(t *testing.T) {
		ns := env.Namespace(t)
		planted, err := hostkeys.Generate([]credentials.KeyType{credentials.ED25519})
		if err != nil {
			t.Fatal(err)
		}
		create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "files-host-keys"}, Data: planted})
		te := sftpEndpointWithoutPods(t, ns)
		c := condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, "HostKeySecretConflict")
		if !strings.Contains(c.Message, "files-host-keys") {
			t.Errorf("the message should name the Secret: %s", c.Message)
		}
		if len(te.Status.HostKeys) != 0 {
			t.Fatalf("the endpoint reports host keys %v from a Secret it did not make", te.Status.HostKeys)
		}
	})
	t.Run("config", func(t *testing.T) {
		ns := env.Namespace(t)
		plantedHash, err := bcrypt.GenerateFromPassword([]byte("planted"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		planted := fmt.Sprintf("apiVersion: server.pier.dev/v1alpha1\nkind: ServerConfig\nsftp:\n  hostKeyFiles: [/etc/pier/host-keys/ssh_host_ed25519_key]\n"+
			"storage: {root: /srv/pier}\nusers:\n  - username: kim\n    passwordHash: %q\n", plantedHash)
		create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "files-config"},
			Data: map[string][]byte{"config.yaml": []byte(planted)}})
		create(t, passwordSecret(ns, "kim-pw", "two\nlines")) // malformed: would keep a "last good" hash
		create(t, withPassword(newUser(ns, "kim", "kim"), "kim-pw"))
		te := sftpEndpointWithoutPods(t, ns)
		condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded") // keys generated
		eventually(t, func() error {
			cfg, secret := servedConfig(t, te)
			if !metav1.IsControlledBy(secret, te) {
				return fmt.Errorf("the config Secret is not the endpoint's yet")
			}
			for _, u := range cfg.Users {
				if u.Username == "kim" {
					return fmt.Errorf("kim is served (hash from the planted config: %v)", u.PasswordHash == string(plantedHash))
				}
			}
			return nil
		})
	})
}

// TestUserOfAnEndpointThatCannotServe: a user of an endpoint that cannot write its config (here: its host-key
// Secret, named in the spec, does not exist) says so, rather than waiting as Pending for ever.
func TestUserOfAnEndpointThatCannotServe(t *testing.T) {
	ns := env.Namespace(t)
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "files"},
		Spec: transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{
			HostKeys: &transferv1alpha1.HostKeysSpec{SecretRef: transferv1alpha1.LocalObjectReference{Name: "missing-keys"}}}},
	}
	create(t, te)
	lea := createPasswordUser(t, ns, "lea")
	falseConditionSays(t, lea, transferv1alpha1.ConditionReady, "EndpointUnavailable", "NoHostKeys")
}
