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

package main

import (
	"crypto/x509"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/pier-dev/pier/internal/pki"
)

// newPKI runs ensurePKI for testNetwork in a temporary layout. These tests check what up gives the control plane
// without running it (make test-e2e-node does, as root).
func newPKI(t *testing.T) layout {
	t.Helper()
	l := layout{state: t.TempDir(), run: t.TempDir()}
	if err := ensurePKI(l, testNetwork); err != nil {
		t.Fatal(err)
	}
	return l
}

// Every certificate chains to the node's CA for what it is used for, and each component is the user and groups
// the API server's bootstrap RBAC expects.
func TestEnsurePKICertificates(t *testing.T) {
	l := newPKI(t)
	roots := x509.NewCertPool()
	roots.AddCert(loadPKIPair(t, l, "ca").Cert)
	verify := func(name string, usage x509.ExtKeyUsage, dnsNames ...string) *x509.Certificate {
		t.Helper()
		pair := loadPKIPair(t, l, name)
		for _, dnsName := range append(dnsNames, "") {
			if _, err := pair.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: dnsName,
				KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("%s for %q: %v", name, dnsName, err)
			}
		}
		return pair.Cert
	}
	verify("apiserver", x509.ExtKeyUsageServerAuth, "192.0.2.2", kubernetesServiceIP, "127.0.0.1", "localhost",
		"kubernetes.default.svc.cluster.local")
	verify("kubelet-serving", x509.ExtKeyUsageServerAuth, "192.0.2.2", nodeName)
	for _, id := range clientIdentities {
		cert := verify(id.file, x509.ExtKeyUsageClientAuth)
		if cert.Subject.CommonName != id.user || !slices.Equal(cert.Subject.Organization, id.groups) {
			t.Errorf("%s is %s, want user %s in groups %v", id.file, cert.Subject, id.user, id.groups)
		}
	}
}

// Keys are for their owner only, sa.key and sa.pub are one pair, and the admin kubeconfig trusts the CA.
func TestEnsurePKIFiles(t *testing.T) {
	l := newPKI(t)
	for _, key := range []string{"ca.key", "apiserver.key", "admin.key", "sa.key"} {
		if info, err := os.Stat(filepath.Join(l.pki(), key)); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, want mode 0600", key, err)
		}
	}
	saKey, err := os.ReadFile(filepath.Join(l.pki(), "sa.key"))
	if err != nil {
		t.Fatal(err)
	}
	if key, err := pki.ParseECKeyPEM(saKey); err != nil || !matchesPublicKey(t, l, key.Public()) {
		t.Errorf("sa.key (%v) is not the key of sa.pub", err)
	}
	cfg, err := clientcmd.LoadFromFile(l.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cluster, user := cfg.Clusters[nodeName], cfg.AuthInfos["pier-node-admin"]
	if cluster == nil || user == nil || cluster.Server != "https://192.0.2.2:6443" ||
		string(cluster.CertificateAuthorityData) != string(loadPKIPair(t, l, "ca").CertPEM()) {
		t.Fatalf("admin kubeconfig: cluster %+v, user %v", cluster, user != nil)
	}
}

// The same address keeps everything; a new one gets a new CA and certificates that name it.
func TestEnsurePKINewAddress(t *testing.T) {
	l := newPKI(t)
	ca := loadPKIPair(t, l, "ca")
	if err := ensurePKI(l, testNetwork); err != nil {
		t.Fatal(err)
	}
	if again := loadPKIPair(t, l, "ca"); !again.Cert.Equal(ca.Cert) {
		t.Fatal("a second up with the same address made a new CA")
	}
	if err := ensurePKI(l, network{nodeIP: netip.MustParseAddr("192.0.2.3")}); err != nil {
		t.Fatal(err)
	}
	if moved := loadPKIPair(t, l, "ca"); moved.Cert.Equal(ca.Cert) {
		t.Fatal("a new node address kept the CA")
	}
	if err := loadPKIPair(t, l, "apiserver").Cert.VerifyHostname("192.0.2.3"); err != nil {
		t.Fatalf("the API server's certificate does not name the new address: %v", err)
	}
}

func loadPKIPair(t *testing.T, l layout, name string) *pki.Pair {
	t.Helper()
	pair, err := pki.LoadPair(filepath.Join(l.pki(), name+".crt"), filepath.Join(l.pki(), name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// matchesPublicKey reports whether sa.pub holds pub.
func matchesPublicKey(t *testing.T, l layout, pub any) bool {
	t.Helper()
	want, err := pki.EncodePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(l.pki(), "sa.pub"))
	return err == nil && string(got) == string(want)
}
