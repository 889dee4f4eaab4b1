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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pier-dev/pier/internal/localca"
)

// certValidity is how long the node's certificates last; up issues new ones when the node address changes.
const certValidity = 365 * 24 * time.Hour

// clientIdentities are the users the components are, as the API server's bootstrap RBAC knows them; the API
// server's own client identity for the kubelet (logs, exec) is an admin.
var clientIdentities = []struct {
	file, user string
	groups     []string
}{
	{"admin", "pier-node-admin", []string{"system:masters"}},
	{compControllerManager, "system:kube-controller-manager", nil},
	{compScheduler, "system:kube-scheduler", nil},
	{compKubelet, "system:node:" + nodeName, []string{"system:nodes"}},
	{compProxy, "system:kube-proxy", nil},
	{"apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}},
}

// serverNames are the names in the API server's certificate: the node's address, the kubernetes Service's
// address and names, and loopback.
func serverNames(n network) []string {
	return []string{n.nodeIP.String(), kubernetesServiceIP, "127.0.0.1", "localhost", "kubernetes",
		"kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
}

// ensurePKI creates the CA, the certificates and the kubeconfigs, once per node address: the files name the
// address they were made for (pki/node-ip), and a new address gets a new set.
func ensurePKI(l layout, n network) error {
	marker := filepath.Join(l.pki(), "node-ip")
	if data, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(data)) == n.nodeIP.String() {
		if _, err := os.Stat(l.Kubeconfig()); err == nil {
			return nil
		}
	}
	if err := os.RemoveAll(l.pki()); err != nil {
		return err
	}
	ca, err := localca.Open(l.pki())
	if err != nil {
		return fmt.Errorf("creating the node's CA: %w", err)
	}
	write := func(name string, certPEM, keyPEM []byte) error {
		return errors.Join(os.WriteFile(filepath.Join(l.pki(), name+".crt"), certPEM, 0o644),
			os.WriteFile(filepath.Join(l.pki(), name+".key"), keyPEM, 0o600))
	}
	certPEM, keyPEM, err := ca.Issue(serverNames(n), certValidity)
	if err != nil {
		return err
	}
	if err := write("apiserver", certPEM, keyPEM); err != nil {
		return err
	}
	if certPEM, keyPEM, err = ca.Issue([]string{n.nodeIP.String(), nodeName}, certValidity); err != nil {
		return err
	}
	if err := write("kubelet-serving", certPEM, keyPEM); err != nil {
		return err
	}
	if err := writeServiceAccountKey(l); err != nil {
		return err
	}
	for _, id := range clientIdentities {
		certPEM, keyPEM, err := ca.IssueClient(id.user, id.groups, certValidity)
		if err != nil {
			return err
		}
		if err := write(id.file, certPEM, keyPEM); err != nil {
			return err
		}
		if id.file == "apiserver-kubelet-client" {
			continue
		}
		file := l.kubeconfigOf(id.file)
		if id.file == "admin" {
			file = l.Kubeconfig()
		}
		if err := writeKubeconfig(file, n, ca.CertPEM(), id.user, certPEM, keyPEM); err != nil {
			return err
		}
	}
	return os.WriteFile(marker, []byte(n.nodeIP.String()+"\n"), 0o644)
}

// writeServiceAccountKey writes the key pair the API server signs service account tokens with.
func writeServiceAccountKey(l layout) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return errors.Join(
		os.WriteFile(filepath.Join(l.pki(), "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600),
		os.WriteFile(filepath.Join(l.pki(), "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644))
}

// writeKubeconfig writes a kubeconfig for user with its certificate embedded.
func writeKubeconfig(file string, n network, caPEM []byte, user string, certPEM, keyPEM []byte) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[nodeName] = &clientcmdapi.Cluster{Server: n.apiServerURL(), CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts[nodeName] = &clientcmdapi.Context{Cluster: nodeName, AuthInfo: user}
	cfg.CurrentContext = nodeName
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*cfg, file)
}
