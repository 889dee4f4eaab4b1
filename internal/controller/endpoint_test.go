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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// newEndpoint is an SFTP + FTPS endpoint like config/samples' partners: a cert-manager issuer, an implicit FTPS
// port and a small passive range.
func newEndpoint(namespace, name string) *transferv1alpha1.TransferEndpoint {
	implicit := int32(990)
	return &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: transferv1alpha1.TransferEndpointSpec{
			SFTP: &transferv1alpha1.SFTPSpec{Port: 22},
			FTP: &transferv1alpha1.FTPSpec{
				Port: 21,
				TLS: transferv1alpha1.FTPTLSSpec{
					ImplicitPort: &implicit,
					IssuerRef:    &transferv1alpha1.IssuerReference{Name: "pier-demo-ca"},
					DNSNames:     []string{"localhost"},
				},
				Passive: transferv1alpha1.PassiveSpec{PortRange: transferv1alpha1.PortRange{Start: 30000, End: 30004}},
			},
		},
	}
}

// createEndpoint creates newEndpoint(ns, name) in a new namespace ns and waits for its Deployment.
func createEndpoint(t *testing.T, name string) (ns string, te *transferv1alpha1.TransferEndpoint, names render.Names, dep *appsv1.Deployment) {
	t.Helper()
	ns = env.Namespace(t)
	te = newEndpoint(ns, name)
	create(t, te)
	names = render.NamesFor(te)
	dep = &appsv1.Deployment{}
	get(t, ns, names.Deployment, dep)
	return ns, te, names, dep
}

func TestEndpointCreatesEveryChild(t *testing.T) {
	ns, te, names, dep := createEndpoint(t, "partners")
	checkDeployment(t, te, dep)
	checkService(t, te)
	checkServerRBAC(t, te)

	hostKeys := &corev1.Secret{}
	get(t, ns, names.HostKeysSecret, hostKeys)
	if err := heldBy(hostKeys, te, transferv1alpha1.RetentionRetain); len(hostKeys.Data) != len(transferv1alpha1.DefaultGeneratedHostKeyTypes) || err != nil {
		t.Errorf("generated host keys: %d keys, %v", len(hostKeys.Data), err)
	}
	cert := &unstructured.Unstructured{}
	cert.SetGroupVersionKind(render.CertificateGVK)
	get(t, ns, names.Certificate, cert)
	if secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName"); secretName != names.TLSSecret {
		t.Errorf("Certificate secretName = %q, want %q", secretName, names.TLSSecret)
	}
	cfg, _ := servedConfig(t, te)
	if cfg.SFTP == nil || len(cfg.SFTP.HostKeyFiles) != len(hostKeys.Data) || cfg.FTP == nil || cfg.FTP.ImplicitTLSAddress == "" {
		t.Errorf("config does not serve SFTP with %d host keys and implicit FTPS: %+v %+v", len(hostKeys.Data), cfg.SFTP, cfg.FTP)
	}

	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	condition(t, te, transferv1alpha1.ConditionTLSReady, metav1.ConditionFalse, "CertificatePending")
	condition(t, te, transferv1alpha1.ConditionAvailable, metav1.ConditionFalse, "PodsNotAvailable")
	condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "")
	checkEndpointStatus(t, te)

	// cert-manager issues the certificate: TLSReady follows the Secret.
	ca := testcreds.NewCA(t)
	ca.Issue(t, "localhost")
	create(t, tlsSecret(t, ns, names.TLSSecret, ca))
	ready := condition(t, te, transferv1alpha1.ConditionTLSReady, metav1.ConditionTrue, "Valid")
	if te.Status.TLS == nil || te.Status.TLS.SecretName != names.TLSSecret || te.Status.TLS.NotAfter == nil {
		t.Errorf("status.tls = %+v (%s)", te.Status.TLS, ready.Message)
	}

	// The pods become available (no kube-controller-manager runs here, so the test plays its part).
	markAvailable(t, dep)
	condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
}

func checkDeployment(t *testing.T, te *transferv1alpha1.TransferEndpoint, dep *appsv1.Deployment) {
	t.Helper()
	if !metav1.IsControlledBy(dep, te) {
		t.Errorf("the Deployment is not controlled by the endpoint: %v", dep.OwnerReferences)
	}
	pod := dep.Spec.Template.Spec
	if got := pod.Containers[0].Image; got != testImage {
		t.Errorf("image = %q, want %q", got, testImage)
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.FSGroup == nil {
		t.Errorf("pod security context is not restricted: %+v", sc)
	}
	if want := render.NamesFor(te).ServiceAccount; pod.ServiceAccountName != want {
		t.Errorf("serviceAccountName = %q, want %q", pod.ServiceAccountName, want)
	}
	if dep.Spec.Template.Annotations[render.AnnotationRestartHash] == "" {
		t.Error("the pod template has no restart hash")
	}
}

func checkService(t *testing.T, te *transferv1alpha1.TransferEndpoint) {
	t.Helper()
	svc := &corev1.Service{}
	get(t, te.Namespace, render.NamesFor(te).Service, svc)
	ports := make([]string, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		ports = append(ports, fmt.Sprintf("%s:%d", p.Name, p.Port))
	}
	want := []string{"sftp:22", "ftp:21", "ftps:990", "pasv-30000:30000", "pasv-30001:30001", "pasv-30002:30002",
		"pasv-30003:30003", "pasv-30004:30004"}
	if !slices.Equal(ports, want) {
		t.Errorf("Service ports = %v, want %v", ports, want)
	}
}

func checkServerRBAC(t *testing.T, te *transferv1alpha1.TransferEndpoint) {
	t.Helper()
	names := render.NamesFor(te)
	get(t, te.Namespace, names.ServiceAccount, &corev1.ServiceAccount{})
	role := &rbacv1.Role{}
	get(t, te.Namespace, names.Role, role)
	if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].ResourceNames, []string{names.ConfigSecret}) {
		t.Errorf("the server's Role must allow only its config Secret: %+v", role.Rules)
	}
	get(t, te.Namespace, names.RoleBinding, &rbacv1.RoleBinding{})
}

func checkEndpointStatus(t *testing.T, te *transferv1alpha1.TransferEndpoint) {
	t.Helper()
	if len(te.Status.HostKeys) != len(transferv1alpha1.DefaultGeneratedHostKeyTypes) {
		t.Errorf("status.hostKeys = %v, want %d fingerprints", te.Status.HostKeys, len(transferv1alpha1.DefaultGeneratedHostKeyTypes))
	}
	for _, k := range te.Status.HostKeys {
		if !strings.HasPrefix(k.Fingerprint, "SHA256:") {
			t.Errorf("host key fingerprint %q is not SHA256:...", k.Fingerprint)
		}
	}
	if te.Status.Protocols != "sftp,ftp,ftps" || te.Status.Storage == nil || !te.Status.Storage.Ephemeral {
		t.Errorf("status protocols %q, storage %+v", te.Status.Protocols, te.Status.Storage)
	}
	if len(te.Status.Addresses) == 0 || te.Status.Addresses[0].URL != "sftp://partners."+te.Namespace+".svc:22" {
		t.Errorf("status.addresses = %v", te.Status.Addresses)
	}
}

func tlsSecret(t *testing.T, namespace, name string, ca *testcreds.CA) *corev1.Secret {
	t.Helper()
	certPEM, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(ca.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM},
	}
}

// markAvailable writes the status the Deployment controller would once its pods run.
func markAvailable(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(dep), dep); err != nil {
			return err
		}
		n := *dep.Spec.Replicas
		dep.Status = appsv1.DeploymentStatus{
			ObservedGeneration: dep.Generation, Replicas: n, ReadyReplicas: n, AvailableReplicas: n, UpdatedReplicas: n,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
				Reason: "MinimumReplicasAvailable", LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
		}
		return k8s.Status().Update(context.Background(), dep)
	})
}

func TestSpecChangeRollsPodsOnlyWhenNeeded(t *testing.T) {
	ns, te, names, dep := createEndpoint(t, "rolling")
	hash := dep.Spec.Template.Annotations[render.AnnotationRestartHash]
	_, secret := servedConfig(t, te)

	// Limits are hot-reloaded: the config changes, the pod template does not.
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) {
		te.Spec.Limits.MaxConnections = 42
	})
	eventually(t, func() error {
		cfg, s := servedConfig(t, te)
		if cfg.Limits.MaxConnections != 42 {
			return fmt.Errorf("maxConnections = %d", cfg.Limits.MaxConnections)
		}
		if s.ResourceVersion == secret.ResourceVersion {
			return fmt.Errorf("config Secret not rewritten")
		}
		return nil
	})
	get(t, ns, names.Deployment, dep)
	if got := dep.Spec.Template.Annotations[render.AnnotationRestartHash]; got != hash {
		t.Errorf("a limits change rolled the pods: restart hash %s -> %s", hash, got)
	}

	// Turning off implicit FTPS changes the listeners: the pods must restart.
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) { te.Spec.FTP.TLS.ImplicitPort = nil })
	eventually(t, func() error {
		get(t, ns, names.Deployment, dep)
		if dep.Spec.Template.Annotations[render.AnnotationRestartHash] == hash {
			return fmt.Errorf("restart hash unchanged after removing the implicit FTPS port")
		}
		for _, p := range dep.Spec.Template.Spec.Containers[0].Ports {
			if p.Name == render.PortNameFTPS {
				return fmt.Errorf("container still has the ftps port")
			}
		}
		return nil
	})

	// Replicas > 1 (with shared storage, and SFTP only: see TestFTPOnSeveralReplicasIsRefused) adds a
	// PodDisruptionBudget; back to 1 removes it.
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shared"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: mustQuantity("1Gi")}},
		},
	}
	create(t, claim)
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) {
		te.Spec.FTP = nil
		te.Spec.Replicas = ptr(int32(3))
		te.Spec.Storage = transferv1alpha1.StorageSpec{PersistentVolumeClaim: &transferv1alpha1.ExistingClaim{ClaimName: "shared"}}
	})
	pdb := &policyv1.PodDisruptionBudget{}
	get(t, ns, names.PodDisruptionBudget, pdb)
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) { te.Spec.Replicas = ptr(int32(1)) })
	gone(t, pdb)
}

func TestDeletedOrEditedChildIsRestored(t *testing.T) {
	ns := env.Namespace(t)
	te := newEndpoint(ns, "healing")
	create(t, te)
	names := render.NamesFor(te)

	svc := &corev1.Service{}
	get(t, ns, names.Service, svc)
	oldUID := svc.UID
	if err := k8s.Delete(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		fresh := &corev1.Service{}
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(svc), fresh); err != nil {
			return err
		}
		if fresh.UID == oldUID {
			return fmt.Errorf("still the old Service")
		}
		return nil
	})

	dep := &appsv1.Deployment{}
	get(t, ns, names.Deployment, dep)
	update(t, dep, func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = "evil.example/shell:latest"
		d.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = ptr(false)
	})
	eventually(t, func() error {
		get(t, ns, names.Deployment, dep)
		c := dep.Spec.Template.Spec.Containers[0]
		if c.Image != testImage || !*c.SecurityContext.ReadOnlyRootFilesystem {
			return fmt.Errorf("image %s, readOnlyRootFilesystem %v", c.Image, *c.SecurityContext.ReadOnlyRootFilesystem)
		}
		return nil
	})

	_, secret := servedConfig(t, te)
	update(t, secret, func(s *corev1.Secret) { s.Data[render.ConfigKey] = []byte("hand edited") })
	eventually(t, func() error {
		s := &corev1.Secret{}
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(secret), s); err != nil {
			return err
		}
		if string(s.Data[render.ConfigKey]) == "hand edited" {
			return fmt.Errorf("config not restored")
		}
		return nil
	})

	// Host keys survive: the generated Secret is never replaced while it exists.
	keys := &corev1.Secret{}
	get(t, ns, names.HostKeysSecret, keys)
	before := keys.ResourceVersion
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) { te.Spec.Limits.MaxConnections = 7 })
	eventually(t, func() error {
		cfg, _ := servedConfig(t, te)
		if cfg.Limits.MaxConnections != 7 {
			return fmt.Errorf("not reconciled yet")
		}
		return nil
	})
	get(t, ns, names.HostKeysSecret, keys)
	if keys.ResourceVersion != before {
		t.Error("the host keys were rewritten")
	}
}

func TestLoadBalancerAddressBecomesPassiveAddress(t *testing.T) {
	ns := env.Namespace(t)
	te := newEndpoint(ns, "public")
	te.Spec.Service.Type = "LoadBalancer"
	create(t, te)
	condition(t, te, transferv1alpha1.ConditionAddressReady, metav1.ConditionFalse, "LoadBalancerPending")

	svc := &corev1.Service{}
	get(t, ns, te.Name, svc)
	if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Errorf("externalTrafficPolicy = %q, want Local to keep client addresses", svc.Spec.ExternalTrafficPolicy)
	}
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(svc), svc); err != nil {
			return err
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}}
		return k8s.Status().Update(context.Background(), svc)
	})
	condition(t, te, transferv1alpha1.ConditionAddressReady, metav1.ConditionTrue, "LoadBalancer")
	eventually(t, func() error {
		cfg, _ := servedConfig(t, te)
		if got := cfg.FTP.Passive.Addresses(); len(got) != 1 || got[0] != "203.0.113.7" {
			return fmt.Errorf("passive publicAddresses = %q", got)
		}
		return nil
	})
	if te.Status.Addresses[0].URL != "sftp://203.0.113.7:22" {
		t.Errorf("status.addresses = %v", te.Status.Addresses)
	}
}

func TestMissingHostKeySecret(t *testing.T) {
	ns := env.Namespace(t)
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "byo-keys"},
		Spec: transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{
			HostKeys: &transferv1alpha1.HostKeysSpec{SecretRef: transferv1alpha1.LocalObjectReference{Name: "my-host-keys"}},
		}},
	}
	create(t, te)
	c := condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, "SecretNotFound")
	if !strings.Contains(c.Message, "my-host-keys") {
		t.Errorf("message does not name the Secret: %s", c.Message)
	}
	condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "NoHostKeys")

	dir := t.TempDir()
	testcreds.WriteHostKey(t, filepath.Join(dir, "key"))
	key, err := os.ReadFile(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-host-keys"},
		Data: map[string][]byte{"ssh_host_ed25519_key": key}})
	condition(t, te, transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, "Loaded")
	get(t, ns, te.Name, &appsv1.Deployment{})
	if len(te.Status.HostKeys) != 1 {
		t.Errorf("status.hostKeys = %v", te.Status.HostKeys)
	}
}

func TestCertificateRemovedWhenIssuerRefIs(t *testing.T) {
	ns := env.Namespace(t)
	te := newEndpoint(ns, "switch")
	create(t, te)
	cert := &unstructured.Unstructured{}
	cert.SetGroupVersionKind(render.CertificateGVK)
	get(t, ns, te.Name, cert)

	ca := testcreds.NewCA(t)
	ca.Issue(t, "localhost")
	create(t, tlsSecret(t, ns, "own-tls", ca))
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) {
		te.Spec.FTP.TLS.IssuerRef, te.Spec.FTP.TLS.DNSNames = nil, nil
		te.Spec.FTP.TLS.SecretRef = &transferv1alpha1.LocalObjectReference{Name: "own-tls"}
	})
	gone(t, cert)
	condition(t, te, transferv1alpha1.ConditionTLSReady, metav1.ConditionTrue, "Valid")
}

func TestExpiredCertificate(t *testing.T) {
	ns := env.Namespace(t)
	te := newEndpoint(ns, "expired")
	te.Spec.FTP.TLS.IssuerRef, te.Spec.FTP.TLS.DNSNames = nil, nil
	te.Spec.FTP.TLS.SecretRef = &transferv1alpha1.LocalObjectReference{Name: "old-tls"}
	certPEM, keyPEM := expiredPair(t)
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "old-tls"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}})
	create(t, te)
	condition(t, te, transferv1alpha1.ConditionTLSReady, metav1.ConditionFalse, "CertificateExpired")
	if te.Status.TLS == nil || te.Status.TLS.NotAfter == nil || te.Status.TLS.NotAfter.After(time.Now()) {
		t.Errorf("status.tls = %+v, want the past notAfter", te.Status.TLS)
	}
}

func ptr[T any](v T) *T { return &v }

// With spec.retentionPolicy Delete, every child goes with the endpoint (TestRetainedDataIsReadopted: the default).
func TestDeletingTheEndpointDeletesItsChildren(t *testing.T) {
	ns := env.Namespace(t)
	sharedClaim := transferv1alpha1.StorageSpec{VolumeClaimTemplate: &transferv1alpha1.VolumeClaimTemplate{
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: mustQuantity("1Gi")}},
		},
	}}
	deleteAll := transferv1alpha1.RetentionPolicy{Storage: transferv1alpha1.RetentionDelete, HostKeys: transferv1alpha1.RetentionDelete}
	te := newEndpoint(ns, "doomed")
	te.Spec.Storage = sharedClaim
	te.Spec.RetentionPolicy = deleteAll
	create(t, te)
	// A PodDisruptionBudget comes with more than one replica, which is for SFTP only: a second endpoint has it.
	scaled := newEndpoint(ns, "doomed-too")
	scaled.Spec.FTP = nil
	scaled.Spec.Replicas = ptr(int32(2))
	scaled.Spec.Storage = sharedClaim
	scaled.Spec.RetentionPolicy = deleteAll
	create(t, scaled)
	names := render.NamesFor(te)
	cert := &unstructured.Unstructured{}
	cert.SetGroupVersionKind(render.CertificateGVK)
	children := []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &corev1.Secret{}, &corev1.Secret{},
		&corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{}, &corev1.PersistentVolumeClaim{}, cert,
		&policyv1.PodDisruptionBudget{}}
	childNames := []string{names.Deployment, names.Service, names.ConfigSecret, names.HostKeysSecret,
		names.ServiceAccount, names.Role, names.RoleBinding, names.ClaimName, names.Certificate,
		render.NamesFor(scaled).PodDisruptionBudget}
	for i, obj := range children {
		get(t, ns, childNames[i], obj)
	}
	podsAvailable(t, te)

	create(t, passwordSecret(ns, "judy-pw", "judy's password"))
	judy := withPassword(newUser(ns, "judy", "judy"), "judy-pw")
	judy.Spec.EndpointRef.Name = te.Name
	judy.Spec.Password = nil
	judy.Spec.GeneratePassword = true
	create(t, judy)
	condition(t, judy, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	generated := &corev1.Secret{}
	get(t, ns, judy.Status.PasswordSecretRef.Name, generated)

	for _, e := range []*transferv1alpha1.TransferEndpoint{te, scaled} {
		if err := k8s.Delete(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	for _, obj := range children {
		gone(t, obj)
	}
	condition(t, judy, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "EndpointNotFound")
	if err := k8s.Delete(context.Background(), judy); err != nil {
		t.Fatal(err)
	}
	gone(t, generated)
}
