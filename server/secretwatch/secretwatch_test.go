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

package secretwatch

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

// env is the API server shared by every test in this package; each test works in its own namespace.
var env *controlplane.Env

func TestMain(m *testing.M) { controlplane.RunTests(m, controlplane.Options{}, &env) }

// recorder collects what a Watcher hands over.
type recorder struct {
	mu   sync.Mutex
	got  []string
	logs bytes.Buffer
}

func (r *recorder) onChange(data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, string(data))
}

func (r *recorder) deliveries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func (r *recorder) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.String()
}

// Write makes the recorder the log's destination, safe for the watcher's goroutine.
func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.Write(p)
}

// start runs a Watcher on the Secret namespace/name with cfg's identity until the test ends.
func start(t *testing.T, cfg *rest.Config, namespace, name string) (*Watcher, *recorder) {
	t.Helper()
	secrets, err := NewSecrets(cfg, namespace)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	w := &Watcher{
		Secrets: secrets, Namespace: namespace, Name: name, Keys: []string{"config.yaml"},
		OnChange: rec.onChange, Log: slog.New(slog.NewTextHandler(rec, nil)),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return w, rec
}

func admin(t *testing.T) kubernetes.Interface {
	t.Helper()
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// updateSecret changes the Secret "config" in namespace.
func updateSecret(t *testing.T, namespace string, change func(*corev1.Secret)) {
	t.Helper()
	secrets := admin(t).CoreV1().Secrets(namespace)
	secret, err := secrets.Get(context.Background(), "config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	change(secret)
	if _, err := secrets.Update(context.Background(), secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// eventually retries check until it passes or a generous deadline passes; it waits, it does not measure.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	poll.Until(t, what, 20*time.Second, check)
}

func delivered(rec *recorder, want ...string) func() error {
	return func() error {
		if got := rec.deliveries(); strings.Join(got, "|") != strings.Join(want, "|") {
			return fmt.Errorf("delivered %q, want %q", got, want)
		}
		return nil
	}
}

func synced(w *Watcher, want bool) func() error {
	return func() error {
		if w.Synced() != want {
			return fmt.Errorf("Synced() = %v, want %v", !want, want)
		}
		return nil
	}
}

func TestDeliversTheContentAndEveryChange(t *testing.T) {
	ns := env.Namespace(t)
	env.CreateSecret(t, ns, "config", map[string]string{"config.yaml": "v1"})
	w, rec := start(t, env.Config, ns, "config")
	eventually(t, "the initial content", delivered(rec, "v1"))
	if !w.Synced() {
		t.Fatal("not synced after delivering the content")
	}

	updateSecret(t, ns, func(s *corev1.Secret) { s.Data["config.yaml"] = []byte("v2") })
	eventually(t, "the update", delivered(rec, "v1", "v2"))

	// A change elsewhere in the Secret hands nothing over; the next change of the key still arrives.
	updateSecret(t, ns, func(s *corev1.Secret) { s.Labels = map[string]string{"touched": "yes"} })
	updateSecret(t, ns, func(s *corev1.Secret) { s.Data["config.yaml"] = []byte("v3") })
	eventually(t, "the update after a label change", delivered(rec, "v1", "v2", "v3"))

	// A missing key or Secret is ignored: nothing is handed over, and the watcher is not synced.
	updateSecret(t, ns, func(s *corev1.Secret) { delete(s.Data, "config.yaml") })
	eventually(t, "not synced without the key", synced(w, false))
	if err := admin(t).CoreV1().Secrets(ns).Delete(context.Background(), "config", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.CreateSecret(t, ns, "config", map[string]string{"config.yaml": "v4"})
	eventually(t, "the recreated Secret", delivered(rec, "v1", "v2", "v3", "v4"))
	eventually(t, "synced again", synced(w, true))
	for _, want := range []string{"the Secret has no such key", "the Secret does not exist", "the Secret holds the key again"} {
		if !strings.Contains(rec.log(), want) {
			t.Errorf("the log lacks %q:\n%s", want, rec.log())
		}
	}
}

func TestAMissingSecretIsWaitedFor(t *testing.T) {
	ns := env.Namespace(t)
	w, rec := start(t, env.Config, ns, "config")
	eventually(t, "the missing Secret is logged", func() error {
		if !strings.Contains(rec.log(), "the Secret does not exist") {
			return fmt.Errorf("log: %s", rec.log())
		}
		return nil
	})
	if w.Synced() {
		t.Fatal("synced without a Secret")
	}
	env.CreateSecret(t, ns, "config", map[string]string{"config.yaml": "v1"})
	eventually(t, "the created Secret", delivered(rec, "v1"))
}

// TestWorksWithOnlyItsOwnSecret acts as the pod's ServiceAccount, bound to a Role that allows get, list and
// watch on the config Secret only, as the operator grants it.
func TestWorksWithOnlyItsOwnSecret(t *testing.T) {
	ns := env.Namespace(t)
	env.CreateSecret(t, ns, "config", map[string]string{"config.yaml": "v1"})
	env.CreateSecret(t, ns, "other", map[string]string{"config.yaml": "not yours"})
	ctx := context.Background()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "pier-server", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"config"},
			Verbs: []string{"get", "list", "watch"},
		}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "pier-server", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pier-server"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "pier-server", Namespace: ns}},
	}
	if _, err := admin(t).RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin(t).RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := rest.CopyConfig(env.Config)
	pod.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + ns + ":pier-server",
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}

	w, rec := start(t, pod, ns, "config")
	eventually(t, "the initial content", delivered(rec, "v1"))
	updateSecret(t, ns, func(s *corev1.Secret) { s.Data["config.yaml"] = []byte("v2") })
	eventually(t, "the update", delivered(rec, "v1", "v2"))
	if !w.Synced() {
		t.Fatal("not synced")
	}

	// The identity reads nothing else, and a watcher pointed at another Secret says why it cannot work.
	client, err := kubernetes.NewForConfig(pod)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Secrets(ns).Get(ctx, "other", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("reading another Secret: %v, want forbidden", err)
	}
	if _, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("listing every Secret: %v, want forbidden", err)
	}
	other, otherRec := start(t, pod, ns, "other")
	eventually(t, "the refusal is logged with a hint", func() error {
		if !strings.Contains(otherRec.log(), "forbidden") || !strings.Contains(otherRec.log(), "resourceNames [other]") {
			return fmt.Errorf("log: %s", otherRec.log())
		}
		return nil
	})
	if other.Synced() || len(otherRec.deliveries()) != 0 {
		t.Fatalf("a forbidden Secret: synced %v, delivered %q", other.Synced(), otherRec.deliveries())
	}
}

// TestUnreachableAPIServer: the watcher keeps retrying, is not synced, and logs the failure once rather than once
// per retry.
func TestUnreachableAPIServer(t *testing.T) {
	cfg := controlplane.Unreachable(t)
	w, rec := start(t, cfg, "default", "config")
	eventually(t, "the failure is logged", func() error {
		if !strings.Contains(rec.log(), "cannot watch the configuration Secret") {
			return fmt.Errorf("log: %q", rec.log())
		}
		return nil
	})
	// Several retries happen within three seconds (0.5 s, 1 s, 2 s); one line reports them.
	time.Sleep(3 * time.Second)
	if n := strings.Count(rec.log(), "\n"); n != 1 {
		t.Errorf("%d log lines for one outage, want 1:\n%s", n, rec.log())
	}
	if w.Synced() {
		t.Error("synced without an API server")
	}
}
