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
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/localcluster"
)

// scannedKeys are the SHA256 fingerprints of the host keys OpenSSH's ssh-keyscan gets from the endpoint, of
// every type pier generates, sorted.
func scannedKeys(ep *localcluster.Endpoint) ([]string, error) {
	out, err := tryCommand("ssh-keyscan", nil, "-p", strconv.Itoa(ep.SFTPPort), "-t", "ed25519,ecdsa,rsa", ep.Host)
	if err != nil {
		return nil, fmt.Errorf("ssh-keyscan: %w\n%s", err, out)
	}
	var fps []string
	for line := range strings.SplitSeq(out, "\n") {
		_, key, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
		if err != nil {
			return nil, fmt.Errorf("ssh-keyscan printed %q: %w", line, err)
		}
		fps = append(fps, ssh.FingerprintSHA256(pub))
	}
	slices.Sort(fps)
	return fps, nil
}

// statusKeys are the fingerprints in the endpoint's status.hostKeys, sorted.
func statusKeys(te *transferv1alpha1.TransferEndpoint) []string {
	out := make([]string, 0, len(te.Status.HostKeys))
	for _, k := range te.Status.HostKeys {
		out = append(out, k.Fingerprint)
	}
	slices.Sort(out)
	return out
}

// servesStatusKeys waits until the endpoint's status lists n host keys and ssh-keyscan gets exactly those from
// the running pod, and returns them.
func servesStatusKeys(t *testing.T, te *transferv1alpha1.TransferEndpoint, ep *localcluster.Endpoint, n int) []string {
	t.Helper()
	var want []string
	eventually(t, fmt.Sprintf("ssh-keyscan gets the %d host keys of the status", n), func() error {
		if cond := hostKeysCondition(t, te); cond == nil || len(te.Status.HostKeys) != n {
			return fmt.Errorf("status.hostKeys = %v (HostKeysReady %+v)", te.Status.HostKeys, cond)
		}
		want = statusKeys(te)
		got, err := scannedKeys(ep)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("ssh-keyscan gets %v, the status lists %v", got, want)
		}
		return nil
	})
	return want
}

// testHostKeyRotation rotates the running endpoint's host keys as docs/operator.md says: an RSA key added beside
// the ed25519 and ECDSA ones, which OpenSSH with the old keys pinned keeps accepting, then the old keys retired.
// At each step ssh-keyscan gets from the pod exactly the keys in status.hostKeys, and the pod is not restarted.
func testHostKeyRotation(t *testing.T, te *transferv1alpha1.TransferEndpoint, ep *localcluster.Endpoint, key userKey) {
	ctx := context.Background()
	c := target.Client()
	pod := serverPod(t)
	before, err := target.Endpoint(ctx, namespace, endpointName)
	if err != nil {
		t.Fatal(err)
	}
	oldKnownHosts := writeFile(t, t.TempDir(), "known_hosts", before.KnownHosts)
	old := servesStatusKeys(t, te, ep, len(te.Status.HostKeys))

	update := func(change func(*transferv1alpha1.TransferEndpoint)) {
		t.Helper()
		eventually(t, "the endpoint is updated", func() error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(te), te); err != nil {
				return err
			}
			change(te)
			return c.Update(ctx, te)
		})
	}
	update(func(te *transferv1alpha1.TransferEndpoint) {
		te.Spec.SFTP.GeneratedHostKeyTypes = []transferv1alpha1.HostKeyType{transferv1alpha1.HostKeyED25519,
			transferv1alpha1.HostKeyECDSA, transferv1alpha1.HostKeyRSA}
		if te.Annotations == nil {
			te.Annotations = map[string]string{}
		}
		te.Annotations[transferv1alpha1.AnnotationAddHostKeys] = "e2e"
	})
	during := servesStatusKeys(t, te, ep, len(old)+1)
	if missing := slices.DeleteFunc(slices.Clone(old), func(fp string) bool { return slices.Contains(during, fp) }); len(missing) > 0 {
		t.Fatalf("the addition stopped serving %v", missing)
	}
	if out, err := pinnedSFTP(t, ep, oldKnownHosts, key); err != nil {
		t.Fatalf("sftp with the old host keys pinned, during the rotation: %v\n%s", err, out)
	}

	update(func(te *transferv1alpha1.TransferEndpoint) { te.Spec.SFTP.RetiredHostKeys = old })
	after := servesStatusKeys(t, te, ep, 1)
	if slices.Contains(old, after[0]) {
		t.Fatalf("after the retirement the endpoint serves %v, an old key", after)
	}
	fresh, err := target.Endpoint(ctx, namespace, endpointName)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := pinnedSFTP(t, fresh, writeFile(t, t.TempDir(), "known_hosts", fresh.KnownHosts), key); err != nil {
		t.Fatalf("sftp with the new host key pinned: %v\n%s", err, out)
	}
	if out, err := pinnedSFTP(t, ep, oldKnownHosts, key); err == nil {
		t.Errorf("sftp with only the retired keys pinned still connects:\n%s", out)
	}
	if now := serverPod(t); now.UID != pod.UID || restarts(now) != restarts(pod) {
		t.Error("the rotation restarted the pod")
	}
}
