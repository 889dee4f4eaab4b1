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
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

const samplesNamespace = "e2e-samples"

// samplesPVs are the PersistentVolumes of TestNodeSamples; cluster-scoped, so the uninstall removes them by name.
var samplesPVs = []string{"e2e-samples-archive", "e2e-samples-legacy-ftp"}

// TestNodeSamples applies config/samples as a user would (kubectl apply -k). The samples are self-contained; the
// test gives them what a user's cluster would: alice's real public key in place of the sample's placeholder, a
// volume for each claim (this node has no provisioner), and cert-manager's part, played by the local issuer.
// Every endpoint and user must become Ready, and each endpoint serves what its sample promises: alice logs in to
// partners with her key, archive's two pods present the same generated host key, the one in its status, and
// legacy-ftp offers TLS with the certificate of its Secret on its node port.
func TestNodeSamples(t *testing.T) {
	n := requireNode(t)
	realclient.Require(t, "sftp")
	ctx := context.Background()
	c := target.Client()
	createRestrictedNamespace(t, samplesNamespace)

	// The samples' claim archive-data and the claim legacy-ftp's template makes ask for the default class, which
	// this node lacks: a volume reserved for each binds it.
	localVolume(t, samplesPVs[0], samplesNamespace, "archive-data", corev1.ReadWriteMany, "")
	localVolume(t, samplesPVs[1], samplesNamespace, "legacy-ftp-data", corev1.ReadWriteOnce, "")

	n.kubectlT(t, "", "apply", "--namespace", samplesNamespace, "-k", filepath.Join("..", "..", "config", "samples"))
	// What the sample's comment asks of a user: put alice's real key into the Secret in place of the placeholder.
	alice := newUserKey(t)
	keys := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: samplesNamespace, Name: "alice-authorized-keys"}, keys); err != nil {
		t.Fatal(err)
	}
	keys.Data = map[string][]byte{"authorized_keys": []byte(alice.authorized + "\n")}
	if err := c.Update(ctx, keys); err != nil {
		t.Fatal(err)
	}
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
	t.Run("archive: two pods present the same generated host key, the one in its status", func(t *testing.T) {
		pods, err := endpointPods(ctx, samplesNamespace, "archive")
		if err != nil || len(pods) != 2 {
			t.Fatalf("want two ready pods, got %d (%v)", len(pods), err)
		}
		te := &transferv1alpha1.TransferEndpoint{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: samplesNamespace, Name: "archive"}, te); err != nil {
			t.Fatal(err)
		}
		// Each pod directly, on its own address in the node's pod network.
		var first string
		for _, p := range pods {
			checkLocalAddress(t, n, p.Status.PodIP)
			var presented ssh.PublicKey
			_, err := ssh.Dial("tcp", net.JoinHostPort(p.Status.PodIP, "2222"), sshConfig("nobody", &presented))
			if presented == nil {
				t.Fatalf("pod %s presented no host key: %v", p.Name, err)
			}
			if err := fingerprintIn(presented, te.Status.HostKeys); err != nil {
				t.Errorf("pod %s: %v", p.Name, err)
			}
			if fp := ssh.FingerprintSHA256(presented); first == "" {
				first = fp
			} else if fp != first {
				t.Errorf("pod %s presents %s, the other pod %s", p.Name, fp, first)
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
