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
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
)

// TestLongUserNameGetsItsPassword: the longest name the CRD admits with generatePassword (244 characters, so that
// NAME-password fits a Secret's 253) gets its Secret, its status and its login. Such a name does not fit a label
// value (63), which once made every reconcile fail before it wrote any status.
func TestLongUserNameGetsItsPassword(t *testing.T) {
	ns := env.Namespace(t)
	sftpEndpoint(t, ns)
	name := strings.Repeat("a", 120) + "." + strings.Repeat("b", 123)
	tu := newUser(ns, name, "longname")
	tu.Spec.GeneratePassword = true
	create(t, tu)

	condition(t, tu, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	secret := &corev1.Secret{}
	get(t, ns, name+"-password", secret)
	if !metav1.IsControlledBy(secret, tu) {
		t.Errorf("Secret %s is not controlled by the TransferUser: %v", secret.Name, secret.OwnerReferences)
	}
	if len(secret.Data[transferv1alpha1.DefaultPasswordKey]) == 0 {
		t.Error("the generated Secret holds no password")
	}
	if _, ok := secret.Labels[render.LabelUser]; ok {
		t.Errorf("the Secret carries the user's name as a label, which cannot hold %d characters", len(name))
	}
	if ref := tu.Status.PasswordSecretRef; ref == nil || ref.Name != render.GeneratedPasswordSecretName(tu) || ref.Name != secret.Name {
		t.Errorf("status.passwordSecretRef = %+v, want Secret %s", ref, secret.Name)
	}
}

// TestFailedReconcileIsACondition: whatever stops a reconcile ends in Ready=False, reason ReconcileFailed, with the
// API server's words, on both kinds; never in an object without status. A quota that admits no Secrets and no
// Services makes the user's generated password Secret and the endpoint's Service impossible to create.
func TestFailedReconcileIsACondition(t *testing.T) {
	ns := env.Namespace(t)
	zeroQuota(t, ns, corev1.ResourceSecrets, corev1.ResourceServices)

	tu := newUser(ns, "quota-user", "quotauser")
	tu.Spec.GeneratePassword = true
	create(t, tu)
	c := condition(t, tu, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "ReconcileFailed")
	if !strings.Contains(c.Message, "exceeded quota") || !strings.Contains(c.Message, "quota-user-password") {
		t.Errorf("the user's Ready message does not say why: %q", c.Message)
	}

	te := sftpEndpointWithoutPods(t, ns) // no Deployment comes: the config Secret cannot be created
	c = condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "ReconcileFailed")
	if !strings.Contains(c.Message, "exceeded quota") {
		t.Errorf("the endpoint's Ready message does not say why: %q", c.Message)
	}
}

// zeroQuota creates a ResourceQuota that admits none of the resources. Its status is written here, as the
// resource quota controller (not running in this suite) would: the API server's quota admission judges by it.
func zeroQuota(t *testing.T, namespace string, names ...corev1.ResourceName) {
	t.Helper()
	hard := corev1.ResourceList{}
	for _, n := range names {
		hard[n] = resource.MustParse("0")
	}
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "nothing"},
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
	}
	create(t, quota)
	quota.Status = corev1.ResourceQuotaStatus{Hard: hard, Used: hard.DeepCopy()}
	if err := k8s.Status().Update(context.Background(), quota); err != nil {
		t.Fatalf("writing the quota's status: %v", err)
	}
}

// TestPrinterColumns reads both kinds the way kubectl get does (as a Table): Users counts the users the endpoint's
// config holds, 0 included, and Reason repeats the Ready condition's reason.
func TestPrinterColumns(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpointWithoutPods(t, ns) // its pods are marked available below, after the columns of an endpoint without them
	ready := condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "PodsNotAvailable")
	eventually(t, func() error {
		return wantCells(t, ns, "transferendpoints", te.Name, map[string]any{
			"Users": float64(0), "Ready": "False", "Reason": ready.Reason,
		})
	})

	podsAvailable(t, te)
	create(t, passwordSecret(ns, "alice-pw", "a password"))
	alice := withPassword(newUser(ns, "alice", "alice"), "alice-pw")
	create(t, alice)
	condition(t, alice, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	eventually(t, func() error {
		return wantCells(t, ns, "transferendpoints", te.Name, map[string]any{"Users": float64(1), "Ready": "True", "Reason": "Serving"})
	})
	eventually(t, func() error {
		return wantCells(t, ns, "transferusers", alice.Name, map[string]any{
			"Endpoint": te.Name, "Username": "alice", "Ready": "True", "Reason": "Serving",
		})
	})

	// A user without an endpoint says why in its Reason column.
	orphan := withPassword(newUser(ns, "orphan", "orphan"), "alice-pw")
	orphan.Spec.EndpointRef.Name = "nowhere"
	create(t, orphan)
	condition(t, orphan, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "EndpointNotFound")
	eventually(t, func() error {
		return wantCells(t, ns, "transferusers", orphan.Name, map[string]any{"Ready": "False", "Reason": "EndpointNotFound"})
	})
}

// wantCells compares the cells of the named row of `kubectl get PLURAL` (the API server's Table) by column
// name. Integers arrive as JSON numbers, so as float64.
func wantCells(t *testing.T, namespace, plural, name string, want map[string]any) error {
	t.Helper()
	table := getTable(t, namespace, plural)
	for _, row := range table.Rows {
		if len(row.Cells) == 0 || row.Cells[0] != name {
			continue
		}
		for i, col := range table.ColumnDefinitions {
			if w, ok := want[col.Name]; ok && row.Cells[i] != w {
				return fmt.Errorf("%s %s: column %s is %#v, want %#v", plural, name, col.Name, row.Cells[i], w)
			}
		}
		return nil
	}
	return fmt.Errorf("%s %s is not in the table", plural, name)
}

// getTable asks the API server for the Table kubectl prints.
func getTable(t *testing.T, namespace, plural string) *metav1.Table {
	t.Helper()
	httpClient, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSuffix(env.Config.Host, "/") + "/apis/" + transferv1alpha1.GroupVersion.String() +
		"/namespaces/" + namespace + "/" + plural
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("listing %s as a table: %v", plural, err)
	}
	defer func() { _ = resp.Body.Close() }()
	table := &metav1.Table{}
	if err := json.NewDecoder(resp.Body).Decode(table); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading the %s table: HTTP %d, %v", plural, resp.StatusCode, err)
	}
	return table
}
