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

package render

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
)

// longestEndpointName is as long as the TransferEndpoint's CEL rule admits (50 characters), mixing every character
// it allows.
var longestEndpointName = "e" + strings.Repeat("a-9", 16) + "z"

// TestLongestEndpointNameFitsEveryChild renders every golden case under the longest endpoint name the CRD admits
// and checks each derived name and label against the limits the API server enforces: a child the API server
// refused would leave the endpoint without it, however often the operator retried. The CRD's limit exists for
// exactly this; this test is what keeps the two in step.
func TestLongestEndpointNameFitsEveryChild(t *testing.T) {
	if len(longestEndpointName) != 50 {
		t.Fatalf("the test name has %d characters, want 50", len(longestEndpointName))
	}
	for _, c := range goldenCases() {
		c.endpoint.Name = longestEndpointName
		for file, obj := range renderCase(t, c).objects {
			m, err := meta.Accessor(obj)
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, file, err)
			}
			what := c.name + " " + file
			checkName(t, what, obj, m.GetName())
			checkLabels(t, what, m.GetLabels())
			switch o := obj.(type) {
			case *appsv1.Deployment:
				checkLabels(t, what+" pod template", o.Spec.Template.Labels)
				checkLabels(t, what+" selector", o.Spec.Selector.MatchLabels)
			case *corev1.Service:
				checkLabels(t, what+" selector", o.Spec.Selector)
			case *unstructured.Unstructured:
				secret, _, _ := unstructured.NestedString(o.Object, "spec", "secretName")
				fail(t, what+" spec.secretName", validation.IsDNS1123Subdomain(secret))
			}
		}
	}
}

// checkName applies the API server's rule for the kind's names: a DNS-1035 label for Services (the name becomes a
// DNS label of the cluster domain), a DNS subdomain for everything else.
func checkName(t *testing.T, what string, obj any, name string) {
	t.Helper()
	if _, ok := obj.(*corev1.Service); ok {
		fail(t, what+" name", validation.IsDNS1035Label(name))
		return
	}
	fail(t, what+" name", validation.IsDNS1123Subdomain(name))
}

func checkLabels(t *testing.T, what string, labels map[string]string) {
	t.Helper()
	for k, v := range labels {
		fail(t, what+" label key "+k, validation.IsQualifiedName(k))
		fail(t, what+" label "+k, validation.IsValidLabelValue(v))
	}
}

func fail(t *testing.T, what string, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Errorf("%s: %s", what, p)
	}
}
