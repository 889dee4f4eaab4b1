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
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/pki"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

// TestCertManagerInstalledLater runs the operator on a cluster without cert-manager's CRDs, as many clusters are,
// with no permissions but those of its generated ClusterRole (config/rbac/role.yaml). It must start, deploy an
// endpoint, and tell an endpoint with issuerRef what is missing. Then cert-manager is installed, and without a
// restart the operator creates the endpoint's Certificate, watches it (a deleted Certificate comes back), and
// TLSReady turns True once the certificate is issued.
func TestCertManagerInstalledLater(t *testing.T) {
	bare, err := controlplane.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bare.Stop() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := operatorConfig(ctx, t, bare)
	opts, certManager, err := controller.ManagerOptions(cfg, ctrl.Options{
		Scheme:  bare.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		// The package's other manager already uses the controllers' names, which must otherwise be unique.
		Controller: config.Controller{SkipNameValidation: ptr(true)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if certManager {
		t.Fatal("cert-manager reported as installed on an API server without its CRDs")
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		t.Fatalf("the manager does not start without cert-manager: %v", err)
	}
	if err := controller.Setup(ctx, mgr, controller.Options{ServerImage: testImage, CertManager: certManager}); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- mgr.Start(ctx) }()

	ns := bare.Namespace(t)
	te := newEndpoint(ns, "no-issuer")
	if err := bare.Client.Create(ctx, te); err != nil {
		t.Fatal(err)
	}
	names := render.NamesFor(te)
	waitTLSReady(ctx, t, bare.Client, te, metav1.ConditionFalse, transferv1alpha1.ReasonCertManagerNotInstalled)
	// SFTP and the rest of the endpoint are still deployed.
	poll.Until(t, "the Deployment exists", 30*time.Second, func() error {
		return bare.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: te.Name}, &appsv1.Deployment{})
	})

	dir, err := controlplane.CertManagerCRDDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envtest.InstallCRDs(bare.Config, envtest.CRDInstallOptions{Paths: []string{dir}, ErrorIfPathMissing: true}); err != nil {
		t.Fatalf("installing cert-manager's CRDs: %v", err)
	}
	first := waitCertificate(ctx, t, bare.Client, ns, names.Certificate, "")
	waitTLSReady(ctx, t, bare.Client, te, metav1.ConditionFalse, transferv1alpha1.ReasonCertificatePending)

	// The Certificate is watched now: deleting it wakes the endpoint, which creates it again.
	if err := bare.Client.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	waitCertificate(ctx, t, bare.Client, ns, names.Certificate, first.GetUID())

	// cert-manager issues the certificate into the Secret the Certificate names.
	issueTLSSecret(ctx, t, bare.Client, ns, names.TLSSecret)
	waitTLSReady(ctx, t, bare.Client, te, metav1.ConditionTrue, transferv1alpha1.ReasonValid)

	select {
	case err := <-stopped:
		t.Fatalf("the manager stopped: %v", err)
	default:
	}
}

// operatorConfig is a client config for a user bound to the operator's generated ClusterRole and nothing else,
// so a permission the operator uses but its RBAC markers lack fails the test.
func operatorConfig(ctx context.Context, t *testing.T, e *controlplane.Env) *rest.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(data, role); err != nil {
		t.Fatalf("reading config/rbac/role.yaml: %v", err)
	}
	const user = "pier-operator"
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := e.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	u, err := e.AddUser(envtest.User{Name: user})
	if err != nil {
		t.Fatal(err)
	}
	return u.Config()
}

// waitTLSReady waits until the endpoint's TLSReady condition has status and reason.
func waitTLSReady(ctx context.Context, t *testing.T, c client.Client, te *transferv1alpha1.TransferEndpoint,
	status metav1.ConditionStatus, reason string) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("TLSReady is %s (%s)", status, reason), 30*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(te.Status.Conditions, transferv1alpha1.ConditionTLSReady)
		if cond == nil || cond.Status != status || cond.Reason != reason {
			return fmt.Errorf("TLSReady = %+v", cond)
		}
		return nil
	})
}

// waitCertificate waits for the Certificate namespace/name to exist with another UID than notUID, and returns it.
func waitCertificate(ctx context.Context, t *testing.T, c client.Client, namespace, name string, notUID types.UID) *unstructured.Unstructured {
	t.Helper()
	cert := &unstructured.Unstructured{}
	cert.SetGroupVersionKind(render.CertificateGVK)
	poll.Until(t, "the operator creates Certificate "+name, 30*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, cert); err != nil {
			return err
		}
		if cert.GetUID() == notUID {
			return fmt.Errorf("still the deleted Certificate %s", notUID)
		}
		return nil
	})
	return cert
}

// issueTLSSecret does what cert-manager would: it writes a certificate for localhost into the Secret namespace/name.
func issueTLSSecret(ctx context.Context, t *testing.T, c client.Client, namespace, name string) {
	t.Helper()
	ca, err := pki.SelfSign(pki.CATemplate(pkix.Name{CommonName: "test issuer"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.IssueServer([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := leaf.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: leaf.CertPEM(), corev1.TLSPrivateKeyKey: keyPEM},
	}
	if err := c.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
}
