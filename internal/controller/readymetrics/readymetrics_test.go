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

package readymetrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/testsupport/metricsum"
)

// A replica that does not lead reports nothing; the leader reports every object, an unreconciled one as not
// Ready with reason Unknown.
func TestCollectorReportsOnceElected(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := transferv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ready := &transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "up"}}
	ready.Status.Conditions = []metav1.Condition{{Type: transferv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: transferv1alpha1.ReasonServing}}
	fresh := &transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "new"}}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ready, fresh).Build()

	elected := make(chan struct{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(&Collector{Reader: reader, Elected: elected})
	if m := metricsum.Series(t, reg, "pier_endpoint_ready", nil); m != nil {
		t.Fatalf("a replica that does not lead reported %v", m)
	}
	close(elected)
	up := metricsum.Series(t, reg, "pier_endpoint_ready", map[string]string{"namespace": "a", "endpoint": "up", "reason": "Serving"})
	if up == nil || up.GetGauge().GetValue() != 1 {
		t.Errorf("the Ready endpoint: %v, want 1 with reason Serving", up)
	}
	unknown := metricsum.Series(t, reg, "pier_endpoint_ready", map[string]string{"namespace": "a", "endpoint": "new", "reason": NoReadyCondition})
	if unknown == nil || unknown.GetGauge().GetValue() != 0 {
		t.Errorf("the endpoint without a Ready condition: %v, want 0 with reason %s", unknown, NoReadyCondition)
	}
}
