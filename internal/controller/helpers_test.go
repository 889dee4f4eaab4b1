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
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pier-dev/pier/internal/testsupport/metricsum"
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
	now, err := busyGauges()
	if err != nil {
		t.Fatal(err)
	}
	for series, value := range now {
		if value > leftBehind[series] {
			return true
		}
	}
	return false
}

// leftBehind are the busy gauges a stopped manager left: a work queue shut down with items still in it never
// counts them out, and the next manager's controllers, of the same names, add to the same series.
var leftBehind = map[string]float64{}

// busyGauges are the gauges that say whether a controller is busy, by series.
func busyGauges() (map[string]float64, error) {
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, f := range families {
		switch f.GetName() {
		case "workqueue_depth", "controller_runtime_active_workers", "workqueue_unfinished_work_seconds":
			for _, m := range f.GetMetric() {
				out[f.GetName()+fmt.Sprint(m.GetLabel())] = m.GetGauge().GetValue()
			}
		}
	}
	return out, nil
}

// counterValue sums the manager's counter name over its series whose label has value ("" for every series).
func counterValue(t *testing.T, name, label, value string) float64 {
	t.Helper()
	return metricsum.Counter(t, ctrlmetrics.Registry, name, label, value)
}

// reconciles is how many reconciles each controller ran so far.
type reconcileCounts struct{ endpoints, users float64 }

func reconciles(t *testing.T) reconcileCounts {
	t.Helper()
	const name = "controller_runtime_reconcile_total"
	return reconcileCounts{counterValue(t, name, "controller", "transferendpoint"), counterValue(t, name, "controller", "transferuser")}
}

// since is how many reconciles each controller ran since before.
func (c reconcileCounts) since(before reconcileCounts) reconcileCounts {
	return reconcileCounts{c.endpoints - before.endpoints, c.users - before.users}
}

// waitForFirstReconciles waits until a manager that just started has reconciled at least the endpoints and users
// given since before, then until it is idle: before its caches sync a new manager is idle too.
func waitForFirstReconciles(t *testing.T, before reconcileCounts, endpoints, users float64) {
	t.Helper()
	eventually(t, func() error {
		if done := reconciles(t).since(before); done.endpoints < endpoints || done.users < users {
			return fmt.Errorf("%v endpoint and %v user reconciles since the start, want %v and %v", done.endpoints, done.users, endpoints, users)
		}
		return nil
	})
	waitForReconciles(t)
}

// bcryptOps are the operator's bcrypt operations so far (pier_manager_password_hashes_total).
type bcryptOps struct{ hashes, compares float64 }

func bcryptCounts(t *testing.T) bcryptOps {
	t.Helper()
	const name = "pier_manager_password_hashes_total"
	return bcryptOps{counterValue(t, name, "op", "hash"), counterValue(t, name, "op", "compare")}
}

// wantBcrypt checks the bcrypt operations since before.
func wantBcrypt(t *testing.T, before bcryptOps, hashes, compares float64, when string) {
	t.Helper()
	now := bcryptCounts(t)
	if got := (bcryptOps{now.hashes - before.hashes, now.compares - before.compares}); got != (bcryptOps{hashes, compares}) {
		t.Errorf("%s: %v bcrypt hashes and %v comparisons, want %v and %v", when, got.hashes, got.compares, hashes, compares)
	}
}
