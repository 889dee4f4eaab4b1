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
	"fmt"
	"testing"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// TestCredentialsReadOncePerChange: after a change of a user's password Secret, both reconcilers pass over it (the
// endpoint's to render its entry, the user's to report Ready, each more than once as the config Secret changes),
// yet its Secret's contents are read from the API server once, and so its password is hashed or compared once. A
// change of the user's spec reads no password Secret at all.
func TestCredentialsReadOncePerChange(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	create(t, passwordSecret(ns, "ivan-pw", "first password"))
	ivan := withPassword(newUser(ns, "ivan", "ivan"), "ivan-pw")
	create(t, ivan)
	judy := newUser(ns, "judy", "judy")
	judy.Spec.GeneratePassword = true
	create(t, judy)
	condition(t, ivan, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	condition(t, judy, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	waitForReconciles(t)

	ivanPath := "/api/v1/namespaces/" + ns + "/secrets/ivan-pw"
	judyPath := "/api/v1/namespaces/" + ns + "/secrets/judy-password"
	before := secretReads.snapshot()
	update(t, passwordSecret(ns, "ivan-pw", ""), func(s *corev1.Secret) {
		s.Data = map[string][]byte{"password": []byte("second password")}
	})
	servesPassword(t, te, "ivan", "second password")
	condition(t, ivan, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	waitForReconciles(t)
	after := secretReads.snapshot()
	if n := after[ivanPath] - before[ivanPath]; n != 1 {
		t.Errorf("a changed password Secret was read %d times, want once", n)
	}
	if n := after[judyPath] - before[judyPath]; n != 0 {
		t.Errorf("the password Secret of another user of the endpoint, which did not change, was read %d times", n)
	}

	judyReads := after[judyPath]
	update(t, judy, func(tu *transferv1alpha1.TransferUser) { tu.Spec.HomeDirectory = "/judy-home" })
	eventually(t, func() error {
		if home := userEntry(t, te, "judy", true).HomeDirectory; home != "/judy-home" {
			return fmt.Errorf("judy's home is %s", home)
		}
		return nil
	})
	condition(t, judy, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	waitForReconciles(t)
	final := secretReads.snapshot()
	// The endpoint's record of password sources vouches for the served hash: the Secret did not change, so it is
	// not read again.
	if n := final[judyPath] - judyReads; n != 0 {
		t.Errorf("after a change of its spec, a generated password Secret was read %d times, want none", n)
	}
	if n := final[ivanPath] - after[ivanPath]; n != 0 {
		t.Errorf("the password Secret of another user of the endpoint, which did not change, was read %d times", n)
	}
}

// servesPassword waits until the endpoint's config holds a hash of password for username.
func servesPassword(t *testing.T, te *transferv1alpha1.TransferEndpoint, username, password string) {
	t.Helper()
	eventually(t, func() error {
		entry := userEntry(t, te, username, true)
		if bcrypt.CompareHashAndPassword([]byte(entry.PasswordHash), []byte(password)) != nil {
			return fmt.Errorf("the config does not serve %s's new password yet", username)
		}
		return nil
	})
}
