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

package controller

import (
	"context"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/testsupport/metricsum"
)

// bcryptTotal is every bcrypt operation the operator counted so far, hashes and comparisons.
func bcryptTotal(t *testing.T) float64 {
	t.Helper()
	return metricsum.Counter(t, ctrlmetrics.Registry, "pier_manager_password_hashes_total", "", "")
}

// TestPendingUserIsNotPolled: a user its endpoint does not serve yet is Pending, and its reconcile asks for no
// recheck: the endpoint's write of the config wakes it. Polling cost a reconcile of every waiting user every two
// seconds; nor may any pass over it run bcrypt again.
func TestPendingUserIsNotPolled(t *testing.T) {
	f := newUserFixture(t)
	key := client.ObjectKeyFromObject(f.alice)
	var before float64
	for pass := range 3 {
		result, err := f.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key})
		if err != nil {
			t.Fatal(err)
		}
		if result.RequeueAfter != 0 {
			t.Fatalf("pass %d over a Pending user asks to be run again after %s", pass, result.RequeueAfter)
		}
		if pass == 0 {
			before = bcryptTotal(t)
		}
	}
	f.wantReady(t, transferv1alpha1.ReasonPending, "not served yet")
	if n := bcryptTotal(t) - before; n != 0 {
		t.Errorf("passes over a Pending user whose password did not change ran bcrypt %v times", n)
	}
	f.serve(t)
	f.wantReady(t, transferv1alpha1.ReasonServing, "served")
}
