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
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// expiredPair is a self-signed certificate for localhost that expired yesterday, and its key.
func expiredPair(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	return testcreds.SelfSignedValidity(t, "localhost", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
}

// waitForReconciles waits until both controllers have been idle for a second: nothing queued and no reconcile
// running. Watch events take a moment to arrive, hence the quiet period rather than a single look.
func waitForReconciles(t *testing.T) {
	t.Helper()
	quietSince := time.Time{}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if busy(t) {
			quietSince = time.Time{}
		} else if quietSince.IsZero() {
			quietSince = time.Now()
		} else if time.Since(quietSince) > time.Second {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the controllers did not become idle")
}

// busy reports whether a controller has queued or running reconciles, from controller-runtime's metrics.
func busy(t *testing.T) bool {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		switch f.GetName() {
		case "workqueue_depth", "controller_runtime_active_workers", "workqueue_unfinished_work_seconds":
			for _, m := range f.GetMetric() {
				if m.GetGauge().GetValue() > 0 {
					return true
				}
			}
		}
	}
	return false
}
