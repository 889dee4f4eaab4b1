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
	"context"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/localcluster"
)

// sshKey returns the demo user's SSH key, created on the first run.
func sshKey(stateDir string) (keyFile, publicKey string, err error) {
	keyFile = filepath.Join(stateDir, "id_ed25519")
	signer, err := credentials.EnsureKeyFile(keyFile, "pier demo")
	if err != nil {
		return "", "", err
	}
	return keyFile, credentials.PublicKeyLine(signer.PublicKey()) + " alice@pier-demo", nil
}

// applySamples creates the Secret the sample user's keys come from, then every sample.
func applySamples(ctx context.Context, cluster *localcluster.Cluster, dir, publicKey string) error {
	keys := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "alice-authorized-keys"},
		Data:       map[string][]byte{transferv1alpha1.DefaultAuthorizedKeysKey: []byte(publicKey + "\n")},
	}
	if err := cluster.Client.Create(ctx, keys); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		if err := localcluster.ApplyFile(ctx, cluster.Client, namespace, f); err != nil {
			return err
		}
	}
	return nil
}
