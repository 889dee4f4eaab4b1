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
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// secretReadsIn are the reads of Secrets' contents in namespace since before, by path.
func secretReadsIn(namespace string, before map[string]int) map[string]int {
	out := map[string]int{}
	for path, n := range secretReads.snapshot() {
		if strings.Contains(path, "/namespaces/"+namespace+"/") && n > before[path] {
			out[path] = n - before[path]
		}
	}
	return out
}

// TestUnchangedSecretsAreNotRead: passes over an endpoint and its users whose Secrets did not change read no
// Secret's contents from the API server (the config, the host keys, the users' passwords and keys): their
// versions in the cache of Secret metadata say that what was read before still holds. After a restart the
// operator reads the endpoint's own Secrets once, and no user's password.
func TestUnchangedSecretsAreNotRead(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	tus := []*transferv1alpha1.TransferUser{createPasswordUser(t, ns, "nina"), createPasswordUser(t, ns, "otto")}
	for _, tu := range tus {
		condition(t, tu, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	}
	waitForReconciles(t)

	before := secretReads.snapshot()
	poke(t, te)
	for _, tu := range tus {
		poke(t, tu)
	}
	waitForReconciles(t)
	if reads := secretReadsIn(ns, before); len(reads) > 0 {
		t.Errorf("passes over nothing new read Secrets: %v", reads)
	}

	before = secretReads.snapshot()
	started := reconciles(t)
	restartManager(t, ns, nil)
	waitForFirstReconciles(t, started, 1, float64(len(tus)))
	for path, n := range secretReadsIn(ns, before) {
		if strings.HasSuffix(path, "-pw") || n > 1 {
			t.Errorf("after a restart %s was read %d times, want a password Secret never and the endpoint's once", path, n)
		}
	}
	for _, tu := range tus {
		condition(t, tu, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	}
}
