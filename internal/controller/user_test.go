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
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// sftpEndpoint is the smallest endpoint: SFTP only, generated host keys, emptyDir, with its pod available.
func sftpEndpoint(t *testing.T, namespace string) *transferv1alpha1.TransferEndpoint {
	t.Helper()
	te := sftpEndpointWithoutPods(t, namespace)
	podsAvailable(t, te)
	return te
}

// sftpEndpointWithoutPods is sftpEndpoint before any pod is available (or even the Deployment exists).
func sftpEndpointWithoutPods(t *testing.T, namespace string) *transferv1alpha1.TransferEndpoint {
	t.Helper()
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "files"},
		Spec:       transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}},
	}
	create(t, te)
	return te
}

// podsAvailable waits for the endpoint's Deployment and marks its pods available, as the Deployment controller
// would once the kubelet runs them (envtest has neither).
func podsAvailable(t *testing.T, te *transferv1alpha1.TransferEndpoint) {
	t.Helper()
	dep := &appsv1.Deployment{}
	get(t, te.Namespace, te.Name, dep)
	markAvailable(t, dep)
}

func passwordSecret(namespace, name, password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Data:       map[string][]byte{"password": []byte(password)},
	}
}

func newUser(namespace, name, username string) *transferv1alpha1.TransferUser {
	return &transferv1alpha1.TransferUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: transferv1alpha1.TransferUserSpec{
			EndpointRef: transferv1alpha1.LocalObjectReference{Name: "files"},
			Username:    username,
		},
	}
}

func withPassword(tu *transferv1alpha1.TransferUser, secret string) *transferv1alpha1.TransferUser {
	tu.Spec.Password = &transferv1alpha1.PasswordSource{SecretRef: transferv1alpha1.SecretKeyReference{Name: secret}}
	return tu
}

// createPasswordUser creates the TransferUser name (username name) of the endpoint "files", whose password is
// "<name>'s password" in the Secret <name>-pw.
func createPasswordUser(t *testing.T, namespace, name string) *transferv1alpha1.TransferUser {
	t.Helper()
	create(t, passwordSecret(namespace, name+"-pw", name+"'s password"))
	tu := withPassword(newUser(namespace, name, name), name+"-pw")
	create(t, tu)
	return tu
}

func authorizedKey(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(testcreds.Signer(t).PublicKey())))
}

func TestUserAddChangeRemove(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	dep := &appsv1.Deployment{}
	get(t, ns, te.Name, dep)
	template := dep.Spec.Template.DeepCopy()

	create(t, passwordSecret(ns, "alice-pw", "first password"))
	alice := withPassword(newUser(ns, "alice", "alice"), "alice-pw")
	create(t, alice)
	condition(t, alice, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	entry := userEntry(t, te, "alice", true)
	if bcrypt.CompareHashAndPassword([]byte(entry.PasswordHash), []byte("first password")) != nil {
		t.Fatalf("alice's hash %q does not match her password", entry.PasswordHash)
	}
	_, secret := servedConfig(t, te)
	if bytes.Contains(secret.Data[render.ConfigKey], []byte("first password")) {
		t.Fatal("the config Secret holds the plaintext password")
	}
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "")
	eventually(t, func() error {
		_ = k8s.Get(context.Background(), client.ObjectKeyFromObject(te), te)
		if te.Status.Users == nil || *te.Status.Users != 1 {
			return fmt.Errorf("status.users = %v", te.Status.Users)
		}
		return nil
	})

	// Rotating the password through its Secret changes the hash; the user is Ready again once it is served.
	update(t, passwordSecret(ns, "alice-pw", ""), func(s *corev1.Secret) { s.Data["password"] = []byte("second password\n") })
	eventually(t, func() error {
		e := userEntry(t, te, "alice", true)
		if bcrypt.CompareHashAndPassword([]byte(e.PasswordHash), []byte("second password")) != nil {
			return fmt.Errorf("hash not rotated")
		}
		return nil
	})
	condition(t, alice, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")

	// Settings changes reach the config; disabling keeps the entry but refuses the login.
	update(t, alice, func(tu *transferv1alpha1.TransferUser) {
		tu.Spec.Permissions = []transferv1alpha1.Permission{transferv1alpha1.PermissionReadOnly}
		tu.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{Keys: []string{authorizedKey(t)}}
	})
	condition(t, alice, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	entry = userEntry(t, te, "alice", true)
	if len(entry.AuthorizedKeys) != 1 || len(entry.Permissions) != 1 || entry.Permissions[0] != "ReadOnly" {
		t.Errorf("entry after the change: %+v", entry)
	}
	if len(alice.Status.KeyFingerprints) != 1 || !strings.HasPrefix(alice.Status.KeyFingerprints[0], "SHA256:") {
		t.Errorf("status.keyFingerprints = %v", alice.Status.KeyFingerprints)
	}
	update(t, alice, func(tu *transferv1alpha1.TransferUser) { tu.Spec.Disabled = true })
	condition(t, alice, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Disabled")
	if !userEntry(t, te, "alice", true).Disabled {
		t.Error("the disabled user is not disabled in the config")
	}

	if err := k8s.Delete(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	userEntry(t, te, "alice", false)

	// None of this rolled the pods: the server reloads users itself.
	get(t, ns, te.Name, dep)
	if !equality.Semantic.DeepEqual(template, &dep.Spec.Template) {
		t.Errorf("user changes changed the pod template:\nbefore %+v\nafter  %+v", template, dep.Spec.Template)
	}
}

func TestUnchangedPasswordKeepsConfigByteIdentical(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	bob := createPasswordUser(t, ns, "bob")
	condition(t, bob, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	_, before := servedConfig(t, te)

	// Touching the password Secret without changing the password, and the endpoint, makes both reconcile.
	update(t, passwordSecret(ns, "bob-pw", ""), func(s *corev1.Secret) { s.Labels = map[string]string{"touched": "1"} })
	poke(t, te)
	waitForReconciles(t)
	_, after := servedConfig(t, te)
	if !bytes.Equal(before.Data[render.ConfigKey], after.Data[render.ConfigKey]) {
		t.Errorf("the config changed although nothing did (resourceVersion %s -> %s)", before.ResourceVersion, after.ResourceVersion)
	}
	// Only the record of where the hash came from follows the Secret's new version, so that a restarted operator
	// need not compare the password again.
	if bytes.Equal(before.Data[render.PasswordSourcesKey], after.Data[render.PasswordSourcesKey]) {
		t.Error("the record of password sources still names the Secret's old version")
	}
	_, again := servedConfig(t, te)
	poke(t, te)
	waitForReconciles(t)
	if _, last := servedConfig(t, te); last.ResourceVersion != again.ResourceVersion {
		t.Errorf("another pass over nothing new wrote the config Secret again (resourceVersion %s -> %s)", again.ResourceVersion, last.ResourceVersion)
	}
}

func TestNoOpReconcileWritesNothing(t *testing.T) {
	ns := env.Namespace(t)
	te := newEndpoint(ns, "steady")
	create(t, te)
	ca := testcreds.NewCA(t)
	ca.Issue(t, "localhost")
	create(t, tlsSecret(t, ns, render.NamesFor(te).TLSSecret, ca))
	dep := &appsv1.Deployment{}
	get(t, ns, te.Name, dep)
	markAvailable(t, dep)
	create(t, passwordSecret(ns, "carol-pw", "carol's password"))
	carol := withPassword(newUser(ns, "carol", "carol"), "carol-pw")
	carol.Spec.EndpointRef.Name = te.Name
	create(t, carol)
	condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	condition(t, carol, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	waitForReconciles(t)

	before := writes.snapshot()
	poke(t, te)
	poke(t, carol)
	waitForReconciles(t)
	after := writes.snapshot()
	for k, n := range after {
		if n != before[k] && strings.Contains(k, "/namespaces/"+ns+"/") {
			t.Errorf("a reconcile with nothing to do wrote: %s (%d times)", k, n-before[k])
		}
	}
}

func TestBadAuthorizedKeysGiveACondition(t *testing.T) {
	ns := env.Namespace(t)
	sftpEndpoint(t, ns)
	good := authorizedKey(t)
	create(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dave-keys"},
		Data:       map[string][]byte{"authorized_keys": []byte("# dave's laptop\n" + good + "\nssh-ed25519 AAAAnot-base64!! broken\n")},
	})
	dave := newUser(ns, "dave", "dave")
	dave.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{
		SecretRef: &transferv1alpha1.SecretKeyReference{Name: "dave-keys"},
	}
	create(t, dave)
	c := condition(t, dave, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "InvalidAuthorizedKeys")
	if !strings.Contains(c.Message, "line 3") || !strings.Contains(c.Message, "dave-keys") {
		t.Errorf("the message should name the Secret and the line: %s", c.Message)
	}
	warning(t, ns, "dave", "InvalidAuthorizedKeys")

	update(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dave-keys"}}, func(s *corev1.Secret) {
		s.Data["authorized_keys"] = []byte(good + "\n")
	})
	condition(t, dave, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
}

// warning waits for a Warning event with the reason about the named object.
func warning(t *testing.T, namespace, name, reason string) {
	t.Helper()
	eventually(t, func() error {
		var list eventsv1.EventList
		if err := k8s.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Type == corev1.EventTypeWarning && e.Reason == reason && e.Regarding.Name == name {
				return nil
			}
		}
		return fmt.Errorf("no Warning %s event for %s among %d events", reason, name, len(list.Items))
	})
}

func TestDuplicateUsernames(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	create(t, passwordSecret(ns, "pw", "a shared password"))
	first := withPassword(newUser(ns, "erin-1", "erin"), "pw")
	create(t, first)
	condition(t, first, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	second := withPassword(newUser(ns, "erin-2", "erin"), "pw")
	second.Spec.Permissions = []transferv1alpha1.Permission{transferv1alpha1.PermissionReadOnly}
	create(t, second)
	c := condition(t, second, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "DuplicateUsername")
	if !strings.Contains(c.Message, "erin-1") {
		t.Errorf("the message should name the user that has the username: %s", c.Message)
	}
	if entry := userEntry(t, te, "erin", true); len(entry.Permissions) != 1 || entry.Permissions[0] != "ReadWrite" {
		t.Errorf("the older user must keep the username, got %+v", entry)
	}

	if err := k8s.Delete(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	condition(t, second, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	if entry := userEntry(t, te, "erin", true); entry.Permissions[0] != "ReadOnly" {
		t.Errorf("after the older user left, the newer one should have the username: %+v", entry)
	}
}

func TestUserWaitsForItsEndpoint(t *testing.T) {
	ns := env.Namespace(t)
	frank := createPasswordUser(t, ns, "frank")
	condition(t, frank, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "EndpointNotFound")
	te := sftpEndpoint(t, ns)
	condition(t, frank, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	userEntry(t, te, "frank", true)
}

func TestGeneratedPassword(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	grace := newUser(ns, "grace", "grace")
	grace.Spec.GeneratePassword = true
	create(t, grace)
	condition(t, grace, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	ref := grace.Status.PasswordSecretRef
	if ref == nil {
		t.Fatal("status.passwordSecretRef is not set")
	}
	secret := &corev1.Secret{}
	get(t, ns, ref.Name, secret)
	password := secret.Data[ref.Key]
	if len(password) < 24 || !metav1.IsControlledBy(secret, grace) {
		t.Errorf("generated password of %d chars, owners %v", len(password), secret.OwnerReferences)
	}
	entry := userEntry(t, te, "grace", true)
	if bcrypt.CompareHashAndPassword([]byte(entry.PasswordHash), password) != nil {
		t.Error("the served hash does not match the generated password")
	}

	// A later reconcile keeps the same password.
	update(t, grace, func(tu *transferv1alpha1.TransferUser) { tu.Spec.HomeDirectory = "/grace-home" })
	condition(t, grace, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	get(t, ns, ref.Name, secret)
	if !bytes.Equal(secret.Data[ref.Key], password) {
		t.Error("the generated password changed")
	}
}
