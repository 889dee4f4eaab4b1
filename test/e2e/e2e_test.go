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
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/localcluster"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

const (
	namespace    = "e2e"
	endpointName = "partners"
)

// TestEndToEnd applies the sample endpoint and drives it with real clients. The steps share the endpoint and
// run in order; the last one deletes it.
func TestEndToEnd(t *testing.T) {
	realclient.Require(t, "sftp", "sshpass", "curl", "lftp")
	ctx := context.Background()
	c := target.Client()
	// Restricted Pod Security, as on a cluster that enforces it: on a real node, the endpoint's pods must be admitted.
	createRestrictedNamespace(t, namespace)
	sample := filepath.Join(controlplane.RepoRoot(), "config", "samples", "transfer_v1alpha1_transferendpoint.yaml")
	if err := localcluster.ApplyFile(ctx, c, namespace, sample); err != nil {
		t.Fatal(err)
	}
	te := &transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: endpointName}}
	start := time.Now()
	waitReady(t, te)
	t.Logf("endpoint Ready %s after it was applied", time.Since(start).Round(time.Millisecond))
	ep, err := target.Endpoint(ctx, namespace, endpointName)
	if err != nil {
		t.Fatal(err)
	}
	knownHosts := writeFile(t, t.TempDir(), "known_hosts", ep.KnownHosts)

	key := newUserKey(t)
	alice := withPassword(t, newUser(namespace, endpointName, "alice"), "alice's first password")
	alice.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{Keys: []string{key.authorized}}
	create(t, alice)
	waitReady(t, alice)

	t.Run("sftp with password and key, host key from status", func(t *testing.T) {
		testSFTP(t, te, ep, knownHosts, key)
	})
	t.Run("ftps explicit and implicit, plain login refused, passive ports in range", func(t *testing.T) {
		testFTPS(t, ep, "alice", "alice's first password")
	})
	t.Run("users added, rotated, disabled and deleted while a session stays open", func(t *testing.T) {
		testUserChanges(t, ep, key)
	})
	t.Run("revocations reach the server: deleted Secrets, restrictions, a user over every limit", func(t *testing.T) {
		testRevocation(t, ep, knownHosts)
	})
	t.Run("certificate rotation without restart", func(t *testing.T) {
		testCertificateRotation(t, te, ep)
	})
	t.Run("host keys never change silently: a deleted Secret is an incident, new keys only on request", func(t *testing.T) {
		testHostKeysNeverChangeSilently(t, te, ep, key)
	})
	t.Run("host key survives a pod restart", func(t *testing.T) {
		testPodRestart(t, te, ep, key)
	})
	t.Run("host-key rotation: a new key beside the old ones, then the old ones retired", func(t *testing.T) {
		testHostKeyRotation(t, te, ep, key)
	})
	t.Run("deleting the endpoint deletes its children but the host keys it keeps", func(t *testing.T) {
		testDeletion(t, te, ep)
	})
}

func testSFTP(t *testing.T, te *transferv1alpha1.TransferEndpoint, ep *localcluster.Endpoint, knownHosts string, key userKey) {
	checkPresentedKey(t, te, ep, key, "at the first login")

	work := t.TempDir()
	content := payload.Random(1<<20 + 11)
	local := writeFile(t, work, "payload.bin", content)
	batch := writeFile(t, work, "batch", []byte(fmt.Sprintf("put %s payload.bin\nget payload.bin %s\n", local, filepath.Join(work, "back.bin"))))
	port := strconv.Itoa(ep.SFTPPort)
	command(t, "sftp", append(realclient.OpenSSHOptions(knownHosts), "-b", batch, "-P", port, "-i", key.file,
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "alice@"+ep.Host)...)
	if back := readFile(t, filepath.Join(work, "back.bin")); !bytes.Equal(back, content) {
		t.Fatal("the file downloaded with OpenSSH sftp differs from the one uploaded")
	}

	ls := writeFile(t, work, "ls", []byte("ls -l\n"))
	pwArgs := realclient.PasswordSFTPArgs(knownHosts, "-b", ls, "-P", port, "alice@"+ep.Host)
	if out, err := tryCommand("sshpass", []string{"SSHPASS=alice's first password"}, pwArgs...); err != nil {
		t.Fatalf("sftp with a password: %v\n%s", err, out)
	}
	if out, err := tryCommand("sshpass", []string{"SSHPASS=wrong"}, pwArgs...); err == nil {
		t.Fatalf("sftp with a wrong password succeeded:\n%s", out)
	}
}

// passiveConnect is curl's verbose line for the data connection, "Connecting to 127.0.0.1 (127.0.0.1) port N".
var passiveConnect = regexp.MustCompile(`Connecting to \S+ \(\S+\) port (\d+)`)

func testFTPS(t *testing.T, ep *localcluster.Endpoint, user, password string) {
	work := t.TempDir()
	content := payload.Random(256<<10 + 3)
	local := writeFile(t, work, "ftps.bin", content)
	userinfo := user + ":" + password
	common := make([]string, 0, 16)
	common = append(common, "--silent", "--show-error", "--fail", "--max-time", "30", "--cacert", target.CAFile(), "--user", userinfo)
	// The endpoint's address, which its certificate covers: 127.0.0.1 locally, the Service's cluster IP on a node.
	explicit := fmt.Sprintf("ftp://%s/", net.JoinHostPort(ep.Host, strconv.Itoa(ep.FTPPort)))

	out := command(t, "curl", append(append([]string{"--ssl-reqd", "--verbose", "--disable-epsv"}, common...), "-T", local, explicit+"ftps.bin")...)
	m := passiveConnect.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no passive data connection in curl's output:\n%s", out)
	}
	if p, _ := strconv.Atoi(m[1]); p < ep.PassiveStart || p > ep.PassiveEnd {
		t.Errorf("passive port %d is outside the published range %d-%d", p, ep.PassiveStart, ep.PassiveEnd)
	}
	back := filepath.Join(work, "back.bin")
	command(t, "curl", append(append([]string{"--ssl-reqd"}, common...), "-o", back, explicit+"ftps.bin")...)
	if !bytes.Equal(readFile(t, back), content) {
		t.Fatal("explicit FTPS round trip differs")
	}

	implicitBack := filepath.Join(work, "implicit.bin")
	command(t, "curl", append(common, "-o", implicitBack, fmt.Sprintf("ftps://%s/ftps.bin", net.JoinHostPort(ep.Host, strconv.Itoa(ep.FTPSPort))))...)
	if !bytes.Equal(readFile(t, implicitBack), content) {
		t.Fatal("implicit FTPS download differs")
	}

	// Without TLS the Required mode refuses the login (curl: 67, "access denied").
	plain := []string{"--silent", "--show-error", "--max-time", "30", "--user", userinfo, explicit}
	if out, err := tryCommand("curl", nil, plain...); err == nil {
		t.Fatalf("a plaintext FTP login succeeded under mode Required:\n%s", out)
	}

	script := fmt.Sprintf("set ssl:ca-file %s; set ftp:ssl-force true; set ftp:ssl-protect-data true; "+
		"set net:max-retries 1; set net:timeout 20; ls; get ftps.bin -o %s; bye", target.CAFile(), filepath.Join(work, "lftp.bin"))
	command(t, "lftp", "-u", user+","+password, "-e", script, net.JoinHostPort(ep.Host, strconv.Itoa(ep.FTPPort)))
	if !bytes.Equal(readFile(t, filepath.Join(work, "lftp.bin")), content) {
		t.Fatal("lftp download differs")
	}
}

func testUserChanges(t *testing.T, ep *localcluster.Endpoint, aliceKey userKey) {
	ctx := context.Background()
	c := target.Client()
	open, err := sftpLogin(ep, sshConfig("alice", nil, ssh.PublicKeys(aliceKey.signer)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = open.Close() }()

	// A new user with a generated password logs in within seconds of becoming Ready, without a restart.
	bob := newUser(namespace, endpointName, "bob")
	bob.Spec.GeneratePassword = true
	created := time.Now()
	create(t, bob)
	waitReady(t, bob)
	password, err := localcluster.GeneratedPassword(ctx, c, bob)
	if err != nil {
		t.Fatal(err)
	}
	ready := time.Now()
	eventually(t, "bob logs in", func() error { return canLogIn(ep, "bob", password) })
	t.Logf("bob: Ready %s after creation, logged in %s after Ready",
		ready.Sub(created).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))

	// Rotating alice's password through her Secret: the new one works, the old one stops working.
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "alice-pw"}, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["password"] = []byte("alice's second password")
	if err := c.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice's new password", func() error { return canLogIn(ep, "alice", "alice's second password") })
	if canLogIn(ep, "alice", "alice's first password") == nil {
		t.Error("alice's old password still works")
	}

	// Disabling bob locks him out; deleting him too. Alice's session, open all along, still works.
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"disabled":true}}`))
	if err := c.Patch(ctx, bob, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob is refused once disabled", func() error {
		if canLogIn(ep, "bob", password) == nil {
			return errors.New("bob can still log in")
		}
		return nil
	})
	if err := c.Delete(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if _, err := open.ReadDir("."); err != nil {
		t.Errorf("alice's open session broke while users changed: %v", err)
	}
}

func testCertificateRotation(t *testing.T, te *transferv1alpha1.TransferEndpoint, ep *localcluster.Endpoint) {
	before, err := servedCertificate(ep, target.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pod := serverPod(t)
	if err := target.RotateCertificate(context.Background(), namespace, render.NamesFor(te).Certificate); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new certificate is served", func() error {
		now, err := servedCertificate(ep, target.CAFile())
		if err != nil {
			return err
		}
		if now.SerialNumber.Cmp(before.SerialNumber) == 0 {
			return errors.New("still the old certificate")
		}
		return nil
	})
	if after := serverPod(t); after.UID != pod.UID || restarts(after) != restarts(pod) {
		t.Error("the certificate rotation restarted the pod")
	}
}

func testPodRestart(t *testing.T, te *transferv1alpha1.TransferEndpoint, ep *localcluster.Endpoint, key userKey) {
	var before ssh.PublicKey
	s, err := sftpLogin(ep, sshConfig("alice", &before, ssh.PublicKeys(key.signer)))
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	old := serverPod(t)
	if err := target.Client().Delete(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new pod serves SFTP", func() error {
		pod := serverPod(t)
		if pod.UID == old.UID {
			return errors.New("still the old pod")
		}
		var after ssh.PublicKey
		s, err := sftpLogin(ep, sshConfig("alice", &after, ssh.PublicKeys(key.signer)))
		if err != nil {
			return err
		}
		_ = s.Close()
		if !bytes.Equal(after.Marshal(), before.Marshal()) {
			t.Fatalf("the host key changed across the restart: %s -> %s", ssh.FingerprintSHA256(before), ssh.FingerprintSHA256(after))
		}
		return nil
	})
	waitReady(t, te)
}

func testDeletion(t *testing.T, te *transferv1alpha1.TransferEndpoint, ep *localcluster.Endpoint) {
	ctx := context.Background()
	c := target.Client()
	names := render.NamesFor(te)
	if err := c.Delete(ctx, te); err != nil {
		t.Fatal(err)
	}
	children := map[string]client.Object{
		names.Deployment: &appsv1.Deployment{}, names.Service: &corev1.Service{}, names.ConfigSecret: &corev1.Secret{},
		names.ServiceAccount: &corev1.ServiceAccount{},
	}
	for name, obj := range children {
		eventually(t, fmt.Sprintf("%T %s is deleted", obj, name), func() error {
			err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)
			if apierrors.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading it: %w", err)
			}
			return errors.New("still there")
		})
	}
	// spec.retentionPolicy.hostKeys defaults to Retain: the keys partners pinned outlive the endpoint, owned by
	// nothing the garbage collector follows.
	kept := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: names.HostKeysSecret}, kept); err != nil {
		t.Fatalf("the generated host keys were not kept: %v", err)
	}
	if len(kept.OwnerReferences) > 0 || !kept.DeletionTimestamp.IsZero() {
		t.Errorf("the kept host keys: owners %v, deletion %v", kept.OwnerReferences, kept.DeletionTimestamp)
	}
	eventually(t, "the server stops", func() error {
		_, err := sftpLogin(ep, sshConfig("alice", nil, ssh.Password("x")))
		if err == nil {
			return errors.New("the SFTP port still answers")
		}
		if !isRefused(err) {
			return fmt.Errorf("the SFTP port still answers: %w", err)
		}
		return nil
	})
}
