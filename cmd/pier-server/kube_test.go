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
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/testsupport/poll"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// outsideAPod makes the test look like a run on a workstation: no in-cluster API server, no POD_NAMESPACE, no
// ServiceAccount namespace file, no KUBECONFIG.
func outsideAPod(t *testing.T) {
	t.Helper()
	for _, name := range []string{"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE", "KUBECONFIG"} {
		t.Setenv(name, "")
	}
	saved := serviceAccountNamespaceFile
	serviceAccountNamespaceFile = filepath.Join(t.TempDir(), "namespace")
	t.Cleanup(func() { serviceAccountNamespaceFile = saved })
}

func TestSecretNamespace(t *testing.T) {
	outsideAPod(t)
	if _, err := secretNamespace(""); err == nil ||
		!strings.Contains(err.Error(), "--config-secret-namespace") || !strings.Contains(err.Error(), "POD_NAMESPACE") {
		t.Fatalf("no namespace anywhere: %v, want an error naming --config-secret-namespace and POD_NAMESPACE", err)
	}
	if err := os.WriteFile(serviceAccountNamespaceFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ns, err := secretNamespace(""); ns != "from-file" || err != nil {
		t.Errorf("with the ServiceAccount file: %q, %v", ns, err)
	}
	t.Setenv("POD_NAMESPACE", "from-env")
	if ns, err := secretNamespace(""); ns != "from-env" || err != nil {
		t.Errorf("with POD_NAMESPACE: %q, %v", ns, err)
	}
	if ns, err := secretNamespace("from-flag"); ns != "from-flag" || err != nil {
		t.Errorf("with the flag: %q, %v", ns, err)
	}
}

func TestServeFlagErrors(t *testing.T) {
	outsideAPod(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", "/nonexistent", "--config-secret", "web-config"},
			"--config-secret web-config: cannot tell the Secret's namespace: pass --config-secret-namespace, or set POD_NAMESPACE"},
		{[]string{"--config", "/nonexistent", "--config-secret-namespace", "web"},
			"--config-secret-namespace needs --config-secret NAME"},
	} {
		err := serve(context.Background(), tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestKubeClientOutsideACluster(t *testing.T) {
	outsideAPod(t)
	if _, err := kubeConfig(); err == nil || !strings.Contains(err.Error(), "KUBECONFIG is not set") {
		t.Fatalf("neither in a pod nor KUBECONFIG: %v", err)
	}
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	if _, err := kubeConfig(); err == nil || !strings.Contains(err.Error(), "KUBECONFIG=") {
		t.Fatalf("a missing KUBECONFIG file: %v", err)
	}
}

// writeKubeconfig writes a kubeconfig for cfg's API server and credentials, acting as user when it is not empty.
func writeKubeconfig(t *testing.T, cfg *rest.Config, user string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken, Impersonate: user,
	}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	kc.CurrentContext = "test"
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, file); err != nil {
		t.Fatal(err)
	}
	return file
}

// serveRun is a pier-server serve running in this process.
type serveRun struct {
	dir, config, sftp, health string
	cancel                    context.CancelFunc
	done                      chan error
}

// configYAML is a serve configuration with users.
func (s *serveRun) configYAML(users string) string {
	return fmt.Sprintf(`apiVersion: server.pier.dev/v1alpha1
kind: ServerConfig
sftp:
  address: %q
  hostKeyFiles: [%q]
health:
  address: %q
storage:
  root: %q
users:
%s`, s.sftp, filepath.Join(s.dir, "host_key"), s.health, s.dir, users)
}

func newServer(t *testing.T, users string) (*serveRun, string) {
	t.Helper()
	dir := t.TempDir()
	testcreds.WriteHostKey(t, filepath.Join(dir, "host_key"))
	s := &serveRun{
		dir: dir, config: filepath.Join(dir, "config.yaml"),
		sftp:   fmt.Sprintf("127.0.0.1:%d", testcreds.FreePort(t)),
		health: fmt.Sprintf("127.0.0.1:%d", testcreds.FreePort(t)),
	}
	content := s.configYAML(users)
	if err := os.WriteFile(s.config, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, content
}

// start runs serve with the config file and args until the test ends, and waits until it is ready.
func (s *serveRun) start(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan error, 1)
	go func() { s.done <- serve(ctx, append([]string{"--config", s.config, "--log-format", "text"}, args...)) }()
	t.Cleanup(func() {
		s.cancel()
		if err := <-s.done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	waitFor(t, "the server is ready", func() error {
		select {
		case err := <-s.done:
			t.Fatalf("serve returned early: %v", err)
		default:
		}
		_, err := s.get("/readyz")
		return err
	})
}

// get returns the body of the health endpoint's path, or an error unless it answers 200.
func (s *serveRun) get(path string) (string, error) {
	resp, err := http.Get("http://" + s.health + path)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(body), err
}

func (s *serveRun) login(user, pw string) error {
	c, err := ssh.Dial("tcp", s.sftp, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.Password(pw)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // the test checks logins, not host keys
		Timeout:         5 * time.Second,
	})
	if err == nil {
		_ = c.Close()
	}
	return err
}

// waitFor retries check until it passes or a generous deadline passes; it waits, it does not measure.
func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	poll.Until(t, what, 30*time.Second, check)
}

func userYAML(t *testing.T, name, pw string) string {
	return fmt.Sprintf("- username: %s\n  passwordHash: %q\n", name, testcreds.Hash(t, pw))
}

// TestServeStartsWithoutTheAPIServer: --config-secret never keeps the server from starting from its file.
func TestServeStartsWithoutTheAPIServer(t *testing.T) {
	outsideAPod(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close() // nothing listens here now
	t.Setenv("KUBECONFIG", writeKubeconfig(t, &rest.Config{Host: "https://" + closed}, ""))
	s, _ := newServer(t, userYAML(t, "alice", "alice-pw"))
	s.start(t, "--config-secret", "web-config", "--config-secret-namespace", "web")
	if err := s.login("alice", "alice-pw"); err != nil {
		t.Fatalf("alice cannot log in: %v", err)
	}
}

// TestServeFollowsTheConfigSecret runs serve as the operator's pod does (--config-secret, POD_NAMESPACE), with a
// kubeconfig standing in for the pod's ServiceAccount and its Role, which allows reading only the config Secret.
func TestServeFollowsTheConfigSecret(t *testing.T) {
	env, err := controlplane.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	outsideAPod(t)
	ns := env.Namespace(t)
	admin, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"web-config"},
			Verbs: []string{"get", "list", "watch"},
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "web"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "web", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	alice, bob := userYAML(t, "alice", "alice-pw"), userYAML(t, "bob", "bob-pw")
	s, content := newServer(t, alice)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "web-config", Namespace: ns},
		Data:       map[string][]byte{"config.yaml": []byte(content)},
	}
	if secret, err = admin.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", writeKubeconfig(t, env.Config, "system:serviceaccount:"+ns+":web"))
	t.Setenv("POD_NAMESPACE", ns)
	s.start(t, "--config-secret", "web-config")

	// bob is added to the Secret only; the file keeps the old content.
	secret.Data["config.yaml"] = []byte(s.configYAML(alice + bob))
	if _, err := admin.CoreV1().Secrets(ns).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Waiting on the metric rather than on logins keeps failed attempts from getting this address banned.
	var metrics string
	waitFor(t, "the Secret's content is applied", func() error {
		metrics, err = s.get("/metrics")
		if err == nil && !strings.Contains(metrics, `pier_config_reloads_total{result="success",source="api"} 1`) {
			err = errors.New("no reload from the API in /metrics yet")
		}
		return err
	})
	if err := s.login("bob", "bob-pw"); err != nil {
		t.Fatalf("bob cannot log in: %v", err)
	}
	if strings.Contains(metrics, `source="file"`) {
		t.Fatalf("the file was reloaded, but only the Secret changed:\n%s", metrics)
	}
}
