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
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pier-dev/pier/server/secretwatch"
)

// serviceAccountNamespaceFile is where Kubernetes mounts the namespace of a pod's ServiceAccount, which is the
// pod's namespace. A variable so that tests can point it elsewhere.
var serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// secretNamespace returns the namespace of the config Secret: the --config-secret-namespace flag's value, else
// $POD_NAMESPACE (the operator sets it from the downward API), else the pod's ServiceAccount namespace.
func secretNamespace(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns, nil
	}
	data, err := os.ReadFile(serviceAccountNamespaceFile)
	if ns := strings.TrimSpace(string(data)); err == nil && ns != "" {
		return ns, nil
	}
	return "", fmt.Errorf("cannot tell the Secret's namespace: pass --config-secret-namespace, or set POD_NAMESPACE, "+
		"or run in a pod with its ServiceAccount mounted (%s)", serviceAccountNamespaceFile)
}

// kubeConfig returns how to reach the API server: through $KUBECONFIG when it is set (a run outside the cluster,
// the kubeconfig standing in for the pod's ServiceAccount), else as the pod's ServiceAccount. KUBECONFIG wins
// because setting it is deliberate, as with kubectl and controller-runtime.
func kubeConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig := os.Getenv("KUBECONFIG"); kubeconfig != "" {
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("KUBECONFIG=%s: %w", kubeconfig, err)
		}
	} else {
		cfg, err = rest.InClusterConfig()
		if errors.Is(err, rest.ErrNotInCluster) {
			return nil, errors.New("not running in a Kubernetes pod, and KUBECONFIG is not set")
		}
		if err != nil {
			return nil, fmt.Errorf("the pod's ServiceAccount credentials (is automountServiceAccountToken off?): %w", err)
		}
	}
	return rest.AddUserAgent(cfg, "pier-server"), nil
}

// kubeSecrets returns the Secrets of namespace through kubeConfig.
func kubeSecrets(namespace string) (secretwatch.Secrets, error) {
	cfg, err := kubeConfig()
	if err != nil {
		return nil, err
	}
	return secretwatch.NewSecrets(cfg, namespace)
}
