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
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// TestPasswordsHashedOncePerChangeOfTheirSecret: a password costs bcrypt once per change of its Secret (one hash,
// and one comparison with the hash it replaces), and nothing while its Secret does not change: not when the
// reconcilers pass over the user again, not when the user's spec changes, not after the operator restarts. A
// Secret deleted and created again while the operator was down is a change: compared once, its unchanged password
// keeps its hash.
func TestPasswordsHashedOncePerChangeOfTheirSecret(t *testing.T) {
	ns := env.Namespace(t)
	// A manager of this namespace alone, so that its metrics count this test's users only.
	restartManager(t, ns, nil)
	te := sftpEndpoint(t, ns)
	kim := createPasswordUser(t, ns, "kim")
	lea := createPasswordUser(t, ns, "lea")
	max := newUser(ns, "max", "max")
	max.Spec.GeneratePassword = true
	create(t, max)
	for _, tu := range []*transferv1alpha1.TransferUser{kim, lea, max} {
		condition(t, tu, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	}
	waitForReconciles(t)
	hashes := map[string]string{}
	for _, name := range []string{"kim", "lea", "max"} {
		hashes[name] = userEntry(t, te, name, true).PasswordHash
	}

	before := bcryptCounts(t)
	poke(t, te)
	poke(t, lea)
	update(t, kim, func(tu *transferv1alpha1.TransferUser) { tu.Spec.HomeDirectory = "/kim-home" })
	eventually(t, func() error {
		if home := userEntry(t, te, "kim", true).HomeDirectory; home != "/kim-home" {
			return fmt.Errorf("kim's home is %s", home)
		}
		return nil
	})
	condition(t, kim, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	waitForReconciles(t)
	wantBcrypt(t, before, 0, 0, "passes over unchanged passwords and a change of a user's spec")

	started := reconciles(t)
	restartManager(t, ns, nil)
	waitForFirstReconciles(t, started, 1, 3)
	wantBcrypt(t, before, 0, 0, "a restart of the operator")

	started = reconciles(t)
	restartManager(t, ns, func() {
		if err := k8s.Delete(context.Background(), passwordSecret(ns, "lea-pw", "")); err != nil {
			t.Fatal(err)
		}
		create(t, passwordSecret(ns, "lea-pw", "lea's password"))
	})
	waitForFirstReconciles(t, started, 1, 3)
	wantBcrypt(t, before, 0, 1, "a password Secret created again with the same password while the operator was down")

	before = bcryptCounts(t)
	update(t, passwordSecret(ns, "kim-pw", ""), func(s *corev1.Secret) { s.Data["password"] = []byte("kim's new password") })
	servesPassword(t, te, "kim", "kim's new password")
	condition(t, kim, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	waitForReconciles(t)
	wantBcrypt(t, before, 1, 1, "a changed password")

	for _, name := range []string{"lea", "max"} {
		if got := userEntry(t, te, name, true).PasswordHash; got != hashes[name] {
			t.Errorf("%s's unchanged password has a new hash", name)
		}
	}
	for _, tu := range []*transferv1alpha1.TransferUser{kim, lea, max} {
		condition(t, tu, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	}
}
