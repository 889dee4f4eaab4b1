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

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// TestStatusPatch: the status is written once when it changed, and not at all when it did not, however the
// reconcile spelled "nothing" (a nil list or an empty one).
func TestStatusPatch(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	if err := transferv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	stored := &transferv1alpha1.TransferUser{ObjectMeta: metav1.ObjectMeta{Name: "alice", Namespace: "team"}}
	patches := 0
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stored).WithStatusSubresource(stored).
		WithInterceptorFuncs(interceptor.Funcs{
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
				patches++
				return c.SubResource(sub).Patch(ctx, obj, p, opts...)
			},
		}).Build()
	read := func() *transferv1alpha1.TransferUser {
		tu := &transferv1alpha1.TransferUser{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(stored), tu); err != nil {
			t.Fatal(err)
		}
		return tu
	}

	for _, tc := range []struct {
		name        string
		change      func(*transferv1alpha1.TransferUser)
		wantPatches int
	}{
		{"nothing changed", func(*transferv1alpha1.TransferUser) {}, 0},
		{"an empty list for a missing one", func(tu *transferv1alpha1.TransferUser) { tu.Status.KeyFingerprints = []string{} }, 0},
		{"only the spec changed", func(tu *transferv1alpha1.TransferUser) { tu.Spec.Disabled = true }, 0},
		{"a condition set", func(tu *transferv1alpha1.TransferUser) {
			meta.SetStatusCondition(&tu.Status.Conditions, metav1.Condition{Type: transferv1alpha1.ConditionReady,
				Status: metav1.ConditionTrue, Reason: transferv1alpha1.ReasonServing, Message: "ok"})
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			patches = 0
			tu := read()
			patch := newStatusPatch(c, tu)
			tc.change(tu)
			wrote, err := patch.apply(ctx, tu)
			if err != nil {
				t.Fatal(err)
			}
			if wrote != (tc.wantPatches > 0) {
				t.Errorf("apply says wrote=%v after %d status writes", wrote, patches)
			}
			if patches != tc.wantPatches {
				t.Errorf("%d status writes, want %d", patches, tc.wantPatches)
			}
			if got := read(); tc.wantPatches > 0 && !meta.IsStatusConditionTrue(got.Status.Conditions, transferv1alpha1.ConditionReady) {
				t.Errorf("the stored status is %+v, without the new condition", got.Status)
			}
		})
	}
}
