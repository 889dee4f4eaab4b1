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

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

const samplesNamespace = "e2e-samples"

// samplesPVs are the PersistentVolumes of TestNodeSamples; cluster-scoped, so the uninstall removes them by name.
var samplesPVs = []string{"e2e-samples-archive", "e2e-samples-legacy-ftp"}

// TestNodeSamples applies config/samples as a user would (kubectl apply -k), with what they refer to and leave to
// the user: the Secrets they name, a claim for the archive and a volume for the claim legacy-ftp's template makes.
// Every endpoint and user must become Ready, and each endpoint serves what its sample promises: alice logs in to
// partners with her key, archive presents the host key of its Secret from two pods, and legacy-ftp offers TLS
// with the certificate of its Secret on its node port.
func TestNodeSamples(t *testing.T) {
	n := requireNode(t)
	realclient.Require(t, "sftp")
	ctx := context.Background()
	c := target.Client()
	createRestrictedNamespace(t, samplesNamespace)

	alice := newUserKey(t)
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: samplesNamespace, Name: "alice-authorized-keys"},
		Data: map[string][]byte{"authorized_keys": []byte(alice.authorized + "\n")}})
	hostKey, err := credentials.GenerateKey(credentials.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	hostKeyPEM, err := credentials.MarshalPrivateKey(hostKey, "archive")
	if err != nil {
		t.Fatal(err)
	}
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: samplesNamespace, Name: "archive-host-keys"},
		Data: map[string][]byte{"ssh_host_ed25519_key": hostKeyPEM}})
	pair, err := n.ca.IssueServer([]string{"ftp.example.com", n.nodeIP.String()}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := pair.PEM()
	if err != nil {
		t.Fatal(err)
	}
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: samplesNamespace, Name: "legacy-ftp-tls"},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}})
	localVolume(t, samplesPVs[0], samplesNamespace, "archive-data", corev1.ReadWriteMany, "pier-e2e-local")
	create(t, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: samplesNamespace, Name: "archive-data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			StorageClassName: ptr("pier-e2e-local"),
			VolumeName:       samplesPVs[0],
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	})
	// legacy-ftp's template asks for 10Gi ReadWriteOnce of the default class; this cluster has no provisioner.
	localVolume(t, samplesPVs[1], samplesNamespace, "legacy-ftp-data", corev1.ReadWriteOnce, "")

	n.kubectlT(t, "", "apply", "--namespace", samplesNamespace, "-k", filepath.Join("..", "..", "config", "samples"))
	for _, name := range []string{"partners", "archive", "legacy-ftp"} {
		waitReady(t, &transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: samplesNamespace, Name: name}})
	}
	for _, name := range []string{"alice", "auditor"} {
		waitReady(t, &transferv1alpha1.TransferUser{ObjectMeta: metav1.ObjectMeta{Namespace: samplesNamespace, Name: name}})
	}

	t.Run("partners: alice logs in with her key, the host key checked", func(t *testing.T) {
		ep, err := target.Endpoint(ctx, samplesNamespace, "partners")
		if err != nil {
			t.Fatal(err)
		}
		knownHosts := writeFile(t, t.TempDir(), "known_hosts", ep.KnownHosts)
		if out, err := pinnedSFTP(t, ep, knownHosts, alice); err != nil {
			t.Fatalf("sftp as alice: %v\n%s", err, out)
		}
	})
	t.Run("archive: two pods present the host key of its Secret", func(t *testing.T) {
		pods, err := endpointPods(ctx, samplesNamespace, "archive")
		if err != nil || len(pods) != 2 {
			t.Fatalf("want two ready pods, got %d (%v)", len(pods), err)
		}
		want, err := ssh.NewSignerFromKey(hostKey)
		if err != nil {
			t.Fatal(err)
		}
		// Each pod directly, on its own address in the node's pod network.
		for _, p := range pods {
			checkLocalAddress(t, n, p.Status.PodIP)
			var presented ssh.PublicKey
			_, err := ssh.Dial("tcp", net.JoinHostPort(p.Status.PodIP, "2222"), sshConfig("nobody", &presented))
			if presented == nil {
				t.Fatalf("pod %s presented no host key: %v", p.Name, err)
			}
			if ssh.FingerprintSHA256(presented) != ssh.FingerprintSHA256(want.PublicKey()) {
				t.Errorf("pod %s presents %s, want the Secret's %s", p.Name, ssh.FingerprintSHA256(presented),
					ssh.FingerprintSHA256(want.PublicKey()))
			}
		}
	})
	t.Run("legacy-ftp: TLS on its node port with the certificate of its Secret", func(t *testing.T) {
		svc := &corev1.Service{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: samplesNamespace, Name: "legacy-ftp"}, svc); err != nil {
			t.Fatal(err)
		}
		port := int(ftpServicePort(svc).NodePort)
		if svc.Spec.Type != corev1.ServiceTypeNodePort || port == 0 {
			t.Fatalf("the Service is %s with FTP node port %d", svc.Spec.Type, port)
		}
		eventually(t, "AUTH TLS on the node port", func() error {
			return authTLS(net.JoinHostPort(n.nodeIP.String(), strconv.Itoa(port)), n.CAFile(), "ftp.example.com")
		})
	})
}

// localVolume makes a local PersistentVolume in a new folder of this machine, reserved for the claim
// namespace/claim, and removes both when the test ends.
func localVolume(t *testing.T, name, namespace, claim string, mode corev1.PersistentVolumeAccessMode, class string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "pier-e2e-node-volume-")
	if err != nil {
		t.Fatal(err)
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{mode},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              class,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
			ClaimRef:                      &corev1.ObjectReference{Namespace: namespace, Name: claim},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpExists}},
			}}}},
		},
	}
	create(t, pv)
	t.Cleanup(func() {
		_ = target.Client().Delete(context.Background(), pv)
		_ = os.RemoveAll(dir)
	})
}

// authTLS upgrades an FTP control connection with AUTH TLS and verifies the certificate against the CA for name.
func authTLS(addr, caFile, name string) error {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	tp := textproto.NewConn(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if err := tp.PrintfLine("AUTH TLS"); err != nil {
		return err
	}
	if _, _, err := tp.ReadResponse(234); err != nil {
		return fmt.Errorf("AUTH TLS: %w", err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tc := tls.Client(conn, &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12})
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	return nil
}
