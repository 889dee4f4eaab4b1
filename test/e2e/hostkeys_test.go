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
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/localcluster"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// pinnedSFTP lists alice's home with OpenSSH sftp, checking the host key strictly against knownHosts.
func pinnedSFTP(t *testing.T, ep *localcluster.Endpoint, knownHosts string, key userKey) (string, error) {
	t.Helper()
	batch := writeFile(t, t.TempDir(), "batch", []byte("ls\n"))
	return tryCommand("sftp", nil, append(realclient.OpenSSHOptions(knownHosts), "-b", batch, "-P", strconv.Itoa(ep.SFTPPort),
		"-i", key.file, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "alice@"+ep.Host)...)
}

// hostKeysCondition is the endpoint's HostKeysReady condition now, nil when it has none.
func hostKeysCondition(t *testing.T, te *transferv1alpha1.TransferEndpoint) *metav1.Condition {
	t.Helper()
	if err := target.Client().Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
		t.Fatal(err)
	}
	return meta.FindStatusCondition(te.Status.Conditions, transferv1alpha1.ConditionHostKeysReady)
}

// testHostKeysNeverChangeSilently deletes the generated host-key Secret of the serving endpoint: OpenSSH sftp
// with the old host keys pinned must keep connecting, and the operator must report the incident instead of
// generating keys nobody asked for. Then it asks for new keys, which the running pod serves.
func testHostKeysNeverChangeSilently(t *testing.T, te *transferv1alpha1.TransferEndpoint, ep *localcluster.Endpoint, key userKey) {
	ctx := context.Background()
	c := target.Client()
	names := render.NamesFor(te)
	oldKnownHosts := writeFile(t, t.TempDir(), "known_hosts", ep.KnownHosts)
	if out, err := pinnedSFTP(t, ep, oldKnownHosts, key); err != nil {
		t.Fatalf("sftp before the Secret was deleted: %v\n%s", err, out)
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: names.HostKeysSecret}, secret); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, secret); err != nil {
		t.Fatal(err)
	}

	// Until the operator has made up its mind, and after, the endpoint presents the old keys.
	eventually(t, "the operator reports the missing host-key Secret", func() error {
		if out, err := pinnedSFTP(t, ep, oldKnownHosts, key); err != nil {
			t.Fatalf("sftp with the old host keys pinned, after the Secret was deleted: %v\n%s", err, out)
		}
		cond := hostKeysCondition(t, te)
		if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != "HostKeysMissing" {
			return fmt.Errorf("HostKeysReady is %+v", cond)
		}
		return nil
	})
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: names.HostKeysSecret}, &corev1.Secret{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("the host-key Secret: err = %v, want NotFound: nobody asked for new keys", err)
	}
	for range 3 {
		if out, err := pinnedSFTP(t, ep, oldKnownHosts, key); err != nil {
			t.Fatalf("sftp with the old host keys pinned, while the Secret is missing: %v\n%s", err, out)
		}
	}
	checkPresentedKey(t, te, ep, key, "while the Secret is missing")
	testRegeneratedHostKeys(t, te, ep, oldKnownHosts, key)
}

// testRegeneratedHostKeys asks for new keys: they are served once the kubelet (here the pod runner) refreshed the
// volume, without a restart. OpenSSH with the old keys pinned now refuses the endpoint, as it must; with the new
// ones it connects.
func testRegeneratedHostKeys(t *testing.T, te *transferv1alpha1.TransferEndpoint, ep *localcluster.Endpoint, oldKnownHosts string, key userKey) {
	ctx := context.Background()
	c := target.Client()
	pod := serverPod(t)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"e2e"}}}`, transferv1alpha1.AnnotationRegenerateHostKeys)
	if err := c.Patch(ctx, te, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
	old := te.Status.HostKeys
	eventually(t, "the new host keys are in the status", func() error {
		cond := hostKeysCondition(t, te)
		if cond == nil || cond.Status != metav1.ConditionTrue || te.Status.LastHandledHostKeyRegeneration != "e2e" {
			return fmt.Errorf("HostKeysReady is %+v, lastHandledHostKeyRegeneration %q", cond, te.Status.LastHandledHostKeyRegeneration)
		}
		for _, k := range old {
			if !slices.ContainsFunc(te.Status.PreviousHostKeys, func(r transferv1alpha1.RetiredHostKey) bool { return r.Fingerprint == k.Fingerprint }) {
				return fmt.Errorf("status.previousHostKeys = %v, want the old key %s", te.Status.PreviousHostKeys, k.Fingerprint)
			}
		}
		return nil
	})
	eventually(t, "OpenSSH sees the changed host key", func() error {
		out, err := pinnedSFTP(t, ep, oldKnownHosts, key)
		if err == nil {
			return errors.New("the old host keys are still served")
		}
		if !strings.Contains(out, "REMOTE HOST IDENTIFICATION HAS CHANGED") {
			t.Fatalf("sftp with the old keys pinned failed otherwise: %v\n%s", err, out)
		}
		return nil
	})
	fresh, err := target.Endpoint(ctx, namespace, endpointName)
	if err != nil {
		t.Fatal(err)
	}
	newKnownHosts := writeFile(t, t.TempDir(), "known_hosts", fresh.KnownHosts)
	if out, err := pinnedSFTP(t, fresh, newKnownHosts, key); err != nil {
		t.Fatalf("sftp with the new host keys pinned: %v\n%s", err, out)
	}
	checkPresentedKey(t, te, ep, key, "after the regeneration")
	if after := serverPod(t); after.UID != pod.UID || restarts(after) != restarts(pod) {
		t.Error("the regeneration restarted the pod")
	}
}
