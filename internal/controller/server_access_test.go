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
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/server/secretwatch"
)

// TestServerCanWatchOnlyItsConfig acts as the pods' ServiceAccount with the RBAC the operator rendered: pier-server
// must be able to follow its config Secret through the API, and read nothing else.
func TestServerCanWatchOnlyItsConfig(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	names := render.NamesFor(te)
	_, secret := servedConfig(t, te)

	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: fmt.Sprintf("system:serviceaccount:%s:%s", ns, names.ServiceAccount),
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	client, err := corev1client.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var seen []byte
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	secrets, err := secretwatch.NewSecrets(cfg, ns)
	if err != nil {
		t.Fatal(err)
	}
	w := &secretwatch.Watcher{Secrets: secrets, Namespace: ns, Name: names.ConfigSecret, Keys: []string{render.ConfigKey},
		OnChange: func(data []byte) { mu.Lock(); seen = data; mu.Unlock() }}
	go w.Run(ctx)
	eventually(t, func() error {
		mu.Lock()
		defer mu.Unlock()
		if !bytes.Equal(seen, secret.Data[render.ConfigKey]) {
			return fmt.Errorf("the server's watch has not delivered the config (synced %v)", w.Synced())
		}
		return nil
	})

	_, err = client.Secrets(ns).Get(ctx, names.HostKeysSecret, metav1.GetOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("reading the host-key Secret through the API: err = %v, want Forbidden (it is mounted, not read)", err)
	}
	_, err = client.Secrets(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("listing every Secret: err = %v, want Forbidden", err)
	}
}
