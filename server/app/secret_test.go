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

package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"

	"github.com/pier-dev/pier/server/secretwatch"
)

// configSecret is the config Secret of a test, changed through the API server as the operator does.
type configSecret struct {
	client    kubernetes.Interface
	namespace string
}

const secretName = "endpoint-config"

func (c *configSecret) set(t *testing.T, content string) {
	t.Helper()
	ctx := context.Background()
	secrets := c.client.CoreV1().Secrets(c.namespace)
	secret, err := secrets.Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data = map[string][]byte{ConfigSecretKey: []byte(content)}
	if _, err := secrets.Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// startWithSecret starts a server that follows its config Secret through the API server that cfg reaches, and
// creates that Secret with the same content as the mounted file, as the operator does.
func startWithSecret(t *testing.T, cfg *rest.Config, users string) (*harness, *configSecret) {
	t.Helper()
	admin, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	secret := &configSecret{client: admin, namespace: env.Namespace(t)}
	h := startWith(t, users, watchSecret(t, cfg, secret.namespace))
	_, err = admin.CoreV1().Secrets(secret.namespace).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: secret.namespace},
		Data:       map[string][]byte{ConfigSecretKey: []byte(h.config(users))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return h, secret
}

// watchSecret is a startWith hook running WatchConfigSecret with cfg's client.
func watchSecret(t *testing.T, cfg *rest.Config, namespace string) func(context.Context, *Server) {
	secrets, err := secretwatch.NewSecrets(cfg, namespace)
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, s *Server) { s.WatchConfigSecret(ctx, secrets, namespace, secretName) }
}

// synced waits until the server's config Secret watch reports synced (or not).
func (h *harness) waitSynced(t *testing.T, want bool) {
	t.Helper()
	eventually(t, fmt.Sprintf("the config Secret watch is synced=%v", want), func() error {
		w := h.server.secret.Load()
		if w == nil || w.Synced() != want {
			return errors.New("not yet")
		}
		return nil
	})
}

// waitForUser waits until username is in the user table (present) or out of it. Waiting on the table rather
// than on logins keeps failed attempts from getting the test's address banned.
func (h *harness) waitForUser(t *testing.T, username string, present bool) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s in the user table = %v", username, present), func() error {
		if _, ok := h.server.users.Lookup(username); ok != present {
			return errors.New("not yet")
		}
		return nil
	})
}

func (h *harness) mustLogIn(t *testing.T, user, pw string) {
	t.Helper()
	if err := h.canLogIn(user, pw); err != nil {
		t.Fatalf("%s cannot log in: %v\nserver log:\n%s", user, err, h.logs)
	}
}

func (h *harness) metricsContain(t *testing.T, want string) error {
	t.Helper()
	_, body, err := h.get("/metrics")
	if err != nil {
		return err
	}
	if !strings.Contains(body, want) {
		return fmt.Errorf("/metrics lacks %s", want)
	}
	return nil
}

// TestAUserAddedToTheSecretLogsInBeforeTheFileChanges is the point of the watch: the kubelet refreshes the
// mounted file a minute or more later, the API delivers at once.
func TestAUserAddedToTheSecretLogsInBeforeTheFileChanges(t *testing.T) {
	alice, bob := userYAML(t, "alice", "alice-pw", ""), userYAML(t, "bob", "bob-pw", "")
	h, secret := startWithSecret(t, env.Config, alice)
	h.waitSynced(t, true)
	// The Secret's first content is the file's: nothing is reloaded.
	if _, body, err := h.get("/metrics"); err != nil || strings.Contains(body, "pier_config_reloads_total{") {
		t.Fatalf("identical content was reloaded (%v):\n%s", err, h.logs)
	}

	file := filepath.Join(h.volume.dir, "config.yaml")
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	secret.set(t, h.config(alice+bob))
	h.waitForUser(t, "bob", true)
	t.Logf("bob is in the user table %v after the Secret update", time.Since(changed).Round(time.Millisecond))
	h.mustLogIn(t, "bob", "bob-pw")
	if after, err := os.ReadFile(file); err != nil || string(after) != string(before) {
		t.Fatalf("the mounted file changed (%v); the test needs the old content there", err)
	}
	if err := h.metricsContain(t, `pier_config_reloads_total{result="success",source="api"} 1`); err != nil {
		t.Fatal(err)
	}

	// While the watch is synced the file is not followed: whatever the kubelet writes there is a copy of the
	// Secret at best, and older than what the API delivered.
	h.setUsers(t, alice+userYAML(t, "carol", "carol-pw", ""))
	eventually(t, "the file change is ignored", func() error {
		if !strings.Contains(h.logs.String(), "the configuration file changed; ignored") {
			return errors.New("not logged yet")
		}
		return nil
	})
	if _, ok := h.server.users.Lookup("carol"); ok {
		t.Fatal("a file change was applied while the config Secret is watched")
	}
	h.mustLogIn(t, "bob", "bob-pw")
}

// TestUnreachableAPIServerLeavesTheFileInCharge: a server whose API server is not there starts and serves from
// the file, and follows the file's changes.
func TestUnreachableAPIServerLeavesTheFileInCharge(t *testing.T) {
	cfg := controlplane.Unreachable(t)
	alice, bob := userYAML(t, "alice", "alice-pw", ""), userYAML(t, "bob", "bob-pw", "")
	h := startWith(t, alice, watchSecret(t, cfg, "default"))
	h.mustLogIn(t, "alice", "alice-pw")

	h.setUsers(t, alice+bob)
	h.waitForUser(t, "bob", true)
	h.mustLogIn(t, "bob", "bob-pw")
	if !strings.Contains(h.logs.String(), "cannot watch the configuration Secret") {
		t.Errorf("the unreachable API server is not logged:\n%s", h.logs)
	}
	if err := h.metricsContain(t, `pier_config_reloads_total{result="success",source="file"} 1`); err != nil {
		t.Fatal(err)
	}
}

// TestTheFileTakesOverWhileTheAPIServerIsDown: when the watch breaks, file changes apply; when it is back, the
// Secret's content wins again, even though the Secret did not change meanwhile.
func TestTheFileTakesOverWhileTheAPIServerIsDown(t *testing.T) {
	dialer := &switchableDialer{}
	cfg := rest.CopyConfig(env.Config)
	cfg.Dial = dialer.DialContext
	alice, bob, carol := userYAML(t, "alice", "alice-pw", ""), userYAML(t, "bob", "bob-pw", ""),
		userYAML(t, "carol", "carol-pw", "")
	h, secret := startWithSecret(t, cfg, alice)
	h.waitSynced(t, true)
	secret.set(t, h.config(alice+bob))
	h.waitForUser(t, "bob", true)

	dialer.setDown(true)
	h.waitSynced(t, false)
	h.mustLogIn(t, "bob", "bob-pw") // still serving the last good configuration
	h.setUsers(t, alice+bob+carol)
	h.waitForUser(t, "carol", true)
	h.mustLogIn(t, "carol", "carol-pw")

	dialer.setDown(false)
	h.waitSynced(t, true)
	h.waitForUser(t, "carol", false)
	h.mustLogIn(t, "bob", "bob-pw")
	for _, want := range []string{
		`pier_config_reloads_total{result="success",source="api"} 2`,
		`pier_config_reloads_total{result="success",source="file"} 1`,
	} {
		if err := h.metricsContain(t, want); err != nil {
			t.Error(err)
		}
	}
}

// TestAnInvalidSecretIsRefused: the last good configuration keeps serving, and the next good one applies.
func TestAnInvalidSecretIsRefused(t *testing.T) {
	alice, bob := userYAML(t, "alice", "alice-pw", ""), userYAML(t, "bob", "bob-pw", "")
	h, secret := startWithSecret(t, env.Config, alice)
	h.waitSynced(t, true)

	secret.set(t, h.config(alice+"- username: mallory\n  passwordHash: plaintext-by-mistake\n"))
	eventually(t, "the refused reload is counted", func() error {
		return h.metricsContain(t, `pier_config_reloads_total{result="error",source="api"} 1`)
	})
	if _, ok := h.server.users.Lookup("mallory"); ok {
		t.Fatal("a user of the refused configuration is in the user table")
	}
	h.mustLogIn(t, "alice", "alice-pw")

	secret.set(t, h.config(alice+bob))
	h.waitForUser(t, "bob", true)
	h.mustLogIn(t, "bob", "bob-pw")
	if n := strings.Count(h.logs.String(), "refused the new configuration"); n != 1 {
		t.Errorf("the refusal was logged %d times, want 1:\n%s", n, h.logs)
	}
}

// switchableDialer connects the client to the API server until it is set down, which also closes every
// connection it made: to the client the API server is gone.
type switchableDialer struct {
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func (d *switchableDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down {
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, network, address)
	if err == nil {
		d.conns = append(d.conns, conn)
	}
	return conn, err
}

func (d *switchableDialer) setDown(down bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = down
	if down {
		for _, conn := range d.conns {
			_ = conn.Close()
		}
		d.conns = nil
	}
}
