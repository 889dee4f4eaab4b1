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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pier-dev/pier/internal/pki"
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
	ca, err := pki.OpenLocalCA(l.pki())
	if err != nil {
		return fmt.Errorf("creating the node's CA: %w", err)
	}
	write := func(name string, pair *pki.Pair) error {
		return pair.WriteFiles(filepath.Join(l.pki(), name+".crt"), filepath.Join(l.pki(), name+".key"))
	}
	pair, err := ca.IssueServer(serverNames(n), certValidity)
	if err != nil {
		return err
	}
	if err := write("apiserver", pair); err != nil {
		return err
	}
	if pair, err = ca.IssueServer([]string{n.nodeIP.String(), nodeName}, certValidity); err != nil {
		return err
	}
	if err := write("kubelet-serving", pair); err != nil {
		return err
	}
	if err := writeServiceAccountKey(l); err != nil {
		return err
	}
	for _, id := range clientIdentities {
		pair, err := ca.IssueClient(id.user, id.groups, certValidity)
		if err != nil {
			return err
		}
		if err := write(id.file, pair); err != nil {
			return err
		}
		if id.file == "apiserver-kubelet-client" {
			continue
		}
		file := l.kubeconfigOf(id.file)
		if id.file == "admin" {
			file = l.Kubeconfig()
		}
		if err := writeKubeconfig(file, n, ca.CertPEM(), id.user, pair); err != nil {
			return err
		}
	}
	return os.WriteFile(marker, []byte(n.nodeIP.String()+"\n"), 0o644)
}

// writeServiceAccountKey writes the key pair the API server signs service account tokens with.
func writeServiceAccountKey(l layout) error {
	key, err := pki.GenerateKey()
	if err != nil {
		return err
	}
	keyPEM, err := pki.EncodeECKey(key)
	if err != nil {
		return err
	}
	pubPEM, err := pki.EncodePublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return errors.Join(
		os.WriteFile(filepath.Join(l.pki(), "sa.key"), keyPEM, 0o600),
		os.WriteFile(filepath.Join(l.pki(), "sa.pub"), pubPEM, 0o644))
}

// writeKubeconfig writes a kubeconfig for user with its certificate embedded.
func writeKubeconfig(file string, n network, caPEM []byte, user string, pair *pki.Pair) error {
	certPEM, keyPEM, err := pair.PEM()
	if err != nil {
		return err
	}
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
