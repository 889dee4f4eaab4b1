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
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/localcluster"
	"github.com/pier-dev/pier/internal/testsupport/poll"
	"github.com/pier-dev/pier/internal/testsupport/servertest"
)

// wait is how long anything the operator and the pod do may take; generous, since CI machines are slow.
const wait = 90 * time.Second

func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	poll.Until(t, what, wait, check)
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := target.Client().Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func waitReady(t *testing.T, obj client.Object) {
	t.Helper()
	if err := localcluster.WaitReady(context.Background(), target.Client(), obj, wait); err != nil {
		t.Fatal(err)
	}
}

// userKey is an SSH key pair for a test user: its private key file for OpenSSH and its signer for Go.
type userKey struct {
	file       string
	signer     ssh.Signer
	authorized string
}

func newUserKey(t *testing.T) userKey {
	t.Helper()
	file := filepath.Join(t.TempDir(), "id_ed25519")
	signer, err := credentials.EnsureKeyFile(file, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	return userKey{file: file, signer: signer, authorized: credentials.PublicKeyLine(signer.PublicKey())}
}

func passwordSecret(namespace, name, password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Data:       map[string][]byte{transferv1alpha1.DefaultPasswordKey: []byte(password)},
	}
}

// newUser is the user name of endpoint, logging in as name.
func newUser(namespace, endpoint, name string) *transferv1alpha1.TransferUser {
	return &transferv1alpha1.TransferUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: transferv1alpha1.TransferUserSpec{
			EndpointRef: transferv1alpha1.LocalObjectReference{Name: endpoint},
			Username:    name,
		},
	}
}

// withPassword creates the Secret NAME-pw holding password beside u, and gives u the password in it.
func withPassword(t *testing.T, u *transferv1alpha1.TransferUser, password string) *transferv1alpha1.TransferUser {
	t.Helper()
	secret := passwordSecret(u.Namespace, u.Name+"-pw", password)
	create(t, secret)
	u.Spec.Password = &transferv1alpha1.PasswordSource{SecretRef: transferv1alpha1.SecretKeyReference{Name: secret.Name}}
	return u
}

// sshConfig logs in with the methods given and records the host key the server presented.
func sshConfig(user string, presented *ssh.PublicKey, methods ...ssh.AuthMethod) *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User: user,
		Auth: methods,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if presented != nil {
				*presented = key
			}
			return nil
		},
		Timeout: 10 * time.Second,
	}
}

// sftpLogin opens an SFTP session; the caller closes it.
func sftpLogin(ep *localcluster.Endpoint, cfg *ssh.ClientConfig) (*servertest.SFTPSession, error) {
	return servertest.DialSFTP(net.JoinHostPort(ep.Host, strconv.Itoa(ep.SFTPPort)), cfg)
}

// canLogIn reports nil when user can open an SFTP session with password.
func canLogIn(ep *localcluster.Endpoint, user, password string) error {
	c, err := sftpLogin(ep, sshConfig(user, nil, ssh.Password(password)))
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	_, err = c.Getwd()
	return err
}

// servedCertificate returns the certificate the implicit FTPS port presents, verified against the CA.
func servedCertificate(ep *localcluster.Endpoint, caFile string) (*x509.Certificate, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", net.JoinHostPort(ep.Host, strconv.Itoa(ep.FTPSPort)),
		&tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// command runs a real client and returns its combined output, failing the test on an error exit.
func command(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := tryCommand(name, nil, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func tryCommand(name string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// checkPresentedKey logs in as alice with key using Go's SFTP client and checks that the host key the endpoint
// presents is one of te's status.hostKeys; when says at which point of the test.
func checkPresentedKey(t *testing.T, te *transferv1alpha1.TransferEndpoint, ep *localcluster.Endpoint, key userKey, when string) {
	t.Helper()
	var presented ssh.PublicKey
	s, err := sftpLogin(ep, sshConfig("alice", &presented, ssh.PublicKeys(key.signer)))
	if err != nil {
		t.Fatalf("%s: Go SFTP client with the key: %v", when, err)
	}
	_ = s.Close()
	if err := fingerprintIn(presented, te.Status.HostKeys); err != nil {
		t.Errorf("%s: %v", when, err)
	}
}

func fingerprintIn(key ssh.PublicKey, status []transferv1alpha1.HostKeyStatus) error {
	fp := ssh.FingerprintSHA256(key)
	for _, k := range status {
		if k.Fingerprint == fp {
			return nil
		}
	}
	return fmt.Errorf("the server presented %s %s, which is not in status.hostKeys %v", key.Type(), fp, status)
}

func readFile(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// serverPod is the endpoint's running pod; the test fails when there is not exactly one.
func serverPod(t *testing.T) *corev1.Pod {
	t.Helper()
	var list corev1.PodList
	var running []corev1.Pod
	eventually(t, "one running server pod", func() error {
		if err := target.Client().List(context.Background(), &list, client.InNamespace(namespace),
			client.MatchingLabels{render.LabelEndpoint: endpointName}); err != nil {
			return err
		}
		running = running[:0]
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp.IsZero() {
				running = append(running, p)
			}
		}
		if len(running) != 1 {
			return fmt.Errorf("%d running pods", len(running))
		}
		return nil
	})
	return &running[0]
}

func restarts(pod *corev1.Pod) int32 {
	var n int32
	for _, s := range pod.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

// isRefused reports whether err is a refused TCP connection: nothing listens any more.
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
