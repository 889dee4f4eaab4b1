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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// readySeries returns the series of the manager's gauge name in namespace, each as its labels, with its value.
func readySeries(t *testing.T, name, namespace string) map[string]float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == namespace {
				delete(labels, "namespace")
				out[fmt.Sprint(labels)] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// wantSeries waits until the gauge name has exactly want in namespace.
func wantSeries(t *testing.T, name, namespace string, want map[string]float64) {
	t.Helper()
	eventually(t, func() error {
		got := readySeries(t, name, namespace)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s in %s: %v, want %v", name, namespace, got, want)
		}
		return nil
	})
}

// The Ready gauges follow the objects' Ready conditions, and a deleted object's series is gone: "which endpoint is
// down" must never name one that no longer exists.
func TestReadyGauges(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpointWithoutPods(t, ns)
	alice := createPasswordUser(t, ns, "alice")
	notReady := condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "")
	wantSeries(t, "pier_endpoint_ready", ns, map[string]float64{
		fmt.Sprint(map[string]string{"endpoint": "files", "reason": notReady.Reason}): 0,
	})

	podsAvailable(t, te)
	condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionTrue, transferv1alpha1.ReasonServing)
	condition(t, alice, transferv1alpha1.ConditionReady, metav1.ConditionTrue, transferv1alpha1.ReasonServing)
	wantSeries(t, "pier_endpoint_ready", ns, map[string]float64{
		fmt.Sprint(map[string]string{"endpoint": "files", "reason": transferv1alpha1.ReasonServing}): 1,
	})
	wantSeries(t, "pier_user_ready", ns, map[string]float64{
		fmt.Sprint(map[string]string{"endpoint": "files", "reason": transferv1alpha1.ReasonServing, "user": "alice", "username": "alice"}): 1,
	})

	if err := k8s.Delete(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	wantSeries(t, "pier_user_ready", ns, map[string]float64{})
	if err := k8s.Delete(context.Background(), te); err != nil {
		t.Fatal(err)
	}
	gone(t, te)
	wantSeries(t, "pier_endpoint_ready", ns, map[string]float64{})
}
