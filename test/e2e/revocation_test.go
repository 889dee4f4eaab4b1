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
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/localcluster"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// opensshAs runs OpenSSH's sftp as user with password, in batch mode with script, and returns its output and
// error: the real client a user of the endpoint would run.
func opensshAs(ep *localcluster.Endpoint, knownHosts, user, password, script, dir string) (string, error) {
	batch := filepath.Join(dir, "batch-"+user)
	if err := os.WriteFile(batch, []byte(script), 0o600); err != nil {
		return "", err
	}
	args := realclient.PasswordSFTPArgs(knownHosts, "-b", batch, "-P", strconv.Itoa(ep.SFTPPort), user+"@"+ep.Host)
	return tryCommand("sshpass", []string{"SSHPASS=" + password}, args...)
}

// testRevocation is issue 11's reproductions with OpenSSH's sftp: a deleted password Secret revokes the password
// at once; a malformed one keeps the last good password while restrictions of the spec still apply; and a user
// whose key Secret grows past every limit does not stop removals, disables and new users from reaching the server.
func testRevocation(t *testing.T, ep *localcluster.Endpoint, knownHosts string) {
	ctx := context.Background()
	c := target.Client()
	work := t.TempDir()
	// Refused logins are what this test is about; the sample's ban would lock 127.0.0.1 out of later tests.
	te := &transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: endpointName}}
	if err := c.Patch(ctx, te, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"limits":{"maxLoginFailures":0}}}`))); err != nil {
		t.Fatal(err)
	}
	upload := writeFile(t, work, "upload.txt", []byte("new data\n"))

	heidi := withPassword(t, newUser(namespace, endpointName, "heidi"), "heidi's password")
	create(t, heidi)
	waitReady(t, heidi)
	if out, err := opensshAs(ep, knownHosts, "heidi", "heidi's password", "put "+upload+" first.txt\n", work); err != nil {
		t.Fatalf("heidi cannot upload: %v\n%s", err, out)
	}

	// A malformed Secret keeps the last good password, and a restriction of the spec applies all the same.
	setPassword(t, "heidi-pw", "two\nlines")
	waitReason(t, heidi, "InvalidPassword")
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"permissions":["ReadOnly"]}}`))
	if err := c.Patch(ctx, heidi, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "heidi is read-only while her Secret is broken", func() error {
		out, err := opensshAs(ep, knownHosts, "heidi", "heidi's password", "put "+upload+" second.txt\n", work)
		if err == nil {
			return errors.New("heidi can still upload")
		}
		if !strings.Contains(out, "ermission denied") {
			return fmt.Errorf("the upload failed, but not for lack of permission: %w\n%s", err, out)
		}
		return nil
	})
	if out, err := opensshAs(ep, knownHosts, "heidi", "heidi's password", "get first.txt "+filepath.Join(work, "back.txt")+"\n", work); err != nil {
		t.Fatalf("heidi's last good password no longer works while her Secret is malformed: %v\n%s", err, out)
	}

	// The Secret deleted: the password is revoked at once.
	if err := c.Delete(ctx, passwordSecret(namespace, "heidi-pw", "")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "heidi's password is revoked", func() error {
		if _, err := opensshAs(ep, knownHosts, "heidi", "heidi's password", "ls\n", work); err == nil {
			return errors.New("heidi can still log in")
		}
		return nil
	})
	waitReason(t, heidi, "NoCredentials")

	// A user whose key Secret holds 12,000 keys (about a megabyte) holds nobody else up.
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "mallory-keys"},
		Data: map[string][]byte{"authorized_keys": manyKeys(12000)}})
	mallory := newUser(namespace, endpointName, "mallory")
	mallory.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{SecretRef: &transferv1alpha1.SecretKeyReference{Name: "mallory-keys"}}
	create(t, mallory)
	for _, name := range []string{"walt", "xena"} {
		tu := withPassword(t, newUser(namespace, endpointName, name), name+"'s password")
		create(t, tu)
		waitReady(t, tu)
	}
	waitReason(t, mallory, "TooManyKeys")
	if err := c.Delete(ctx, newUser(namespace, endpointName, "walt")); err != nil {
		t.Fatal(err)
	}
	if err := c.Patch(ctx, newUser(namespace, endpointName, "xena"), client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"disabled":true}}`))); err != nil {
		t.Fatal(err)
	}
	yuri := withPassword(t, newUser(namespace, endpointName, "yuri"), "yuri's password")
	create(t, yuri)
	for _, name := range []string{"walt", "xena"} {
		eventually(t, name+" is locked out", func() error {
			if _, err := opensshAs(ep, knownHosts, name, name+"'s password", "ls\n", work); err == nil {
				return fmt.Errorf("%s can still log in", name)
			}
			return nil
		})
	}
	eventually(t, "yuri logs in", func() error {
		out, err := opensshAs(ep, knownHosts, "yuri", "yuri's password", "ls\n", work)
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
}

func setPassword(t *testing.T, secret, password string) {
	t.Helper()
	s := &corev1.Secret{}
	if err := target.Client().Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: secret}, s); err != nil {
		t.Fatal(err)
	}
	s.Data[transferv1alpha1.DefaultPasswordKey] = []byte(password)
	if err := target.Client().Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// waitReason waits until the user's Ready condition has the reason.
func waitReason(t *testing.T, tu *transferv1alpha1.TransferUser, reason string) {
	t.Helper()
	eventually(t, tu.Name+" Ready reason "+reason, func() error {
		if err := target.Client().Get(context.Background(), client.ObjectKeyFromObject(tu), tu); err != nil {
			return err
		}
		c := meta.FindStatusCondition(tu.Status.Conditions, transferv1alpha1.ConditionReady)
		if c == nil || c.Reason != reason {
			return fmt.Errorf("Ready is %+v", c)
		}
		return nil
	})
}

// manyKeys is n valid ed25519 authorized_keys lines, without comments.
func manyKeys(n int) []byte {
	var b strings.Builder
	for range n {
		pub := make([]byte, 32)
		_, _ = rand.Read(pub)
		wire := ssh.Marshal(struct {
			Type string
			Key  []byte
		}{ssh.KeyAlgoED25519, pub})
		b.WriteString(ssh.KeyAlgoED25519 + " " + base64.StdEncoding.EncodeToString(wire) + "\n")
	}
	return []byte(b.String())
}
