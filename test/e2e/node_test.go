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
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/localcluster"
	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// The tests in this file need a real node (PIER_E2E_TARGET=node, make test-e2e-node) and skip otherwise: Pod
// Security admission and the runtime's view of a container, kube-proxy, Services with several pods, the garbage
// collector deleting through kubectl, and the manager as a pod.

const (
	nodeNamespace = "e2e-node"
	nodeEndpoint  = "node"
)

func requireNode(t *testing.T) *nodeTarget {
	t.Helper()
	n, ok := target.(*nodeTarget)
	if !ok {
		t.Skip("needs a real node: PIER_E2E_TARGET=node (make test-e2e-node)")
	}
	return n
}

// kubectl runs the node's kubectl, failing the test on an error exit.
func (n *nodeTarget) kubectlT(t *testing.T, input string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+n.kubeconfig)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// endpointPods are the endpoint's running, ready pods.
func endpointPods(ctx context.Context, ns, name string) ([]corev1.Pod, error) {
	var list corev1.PodList
	if err := target.Client().List(ctx, &list, client.InNamespace(ns),
		client.MatchingLabels{render.LabelEndpoint: name}); err != nil {
		return nil, err
	}
	var ready []corev1.Pod
	for _, p := range list.Items {
		if p.Status.Phase != corev1.PodRunning || !p.DeletionTimestamp.IsZero() {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready = append(ready, p)
			}
		}
	}
	return ready, nil
}

// TestNodeEndpoint runs one endpoint on the node under restricted Pod Security and puts it through what only a
// real node shows. The steps share the endpoint and run in order; the last deletes it with kubectl.
func TestNodeEndpoint(t *testing.T) {
	n := requireNode(t)
	realclient.Require(t, "sftp", "sshpass", "curl")
	ctx := context.Background()
	createRestrictedNamespace(t, nodeNamespace)
	claim := localClaim(t, nodeNamespace, "node-data")
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: nodeNamespace, Name: nodeEndpoint},
		Spec: transferv1alpha1.TransferEndpointSpec{
			// Storage both pods share, as spec.replicas above 1 requires: a local volume on this node.
			Storage: transferv1alpha1.StorageSpec{PersistentVolumeClaim: &transferv1alpha1.ExistingClaim{ClaimName: claim}},
			SFTP:    &transferv1alpha1.SFTPSpec{},
			FTP: &transferv1alpha1.FTPSpec{
				TLS:     transferv1alpha1.FTPTLSSpec{Mode: transferv1alpha1.FTPTLSDisabled},
				Passive: transferv1alpha1.PassiveSpec{PortRange: transferv1alpha1.PortRange{Start: 30210, End: 30213}},
			},
		},
	}
	create(t, te)
	waitReady(t, te)
	ep, err := target.Endpoint(ctx, nodeNamespace, nodeEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	knownHosts := writeFile(t, t.TempDir(), "known_hosts", ep.KnownHosts)
	carol := withPassword(t, newUser(nodeNamespace, nodeEndpoint, "carol"), "carol's password")
	create(t, carol)
	waitReady(t, carol)

	t.Run("restricted Pod Security, read-only root file system, writable storage", func(t *testing.T) {
		testRestrictedPod(t, n, ep, knownHosts)
	})
	t.Run("a user applied with kubectl logs in without a pod restart", func(t *testing.T) {
		testUserAppliedWithKubectl(t, n, ep, knownHosts)
	})
	t.Run("a second replica: refused with FTP, sharing the files with SFTP alone", func(t *testing.T) {
		testTwoReplicas(t, te, ep)
	})
	t.Run("kubectl delete of the endpoint removes every child", func(t *testing.T) {
		testGarbageCollection(t, n, te)
	})
}

func testRestrictedPod(t *testing.T, n *nodeTarget, ep *localcluster.Endpoint, knownHosts string) {
	ctx := context.Background()
	pods, err := endpointPods(ctx, nodeNamespace, nodeEndpoint)
	if err != nil || len(pods) != 1 {
		t.Fatalf("want one ready pod, got %d (%v)", len(pods), err)
	}
	pod := pods[0]
	// Admitted in a namespace that enforces restricted: Pod Security admission checked the whole spec.
	ns := &corev1.Namespace{}
	if err := target.Client().Get(ctx, client.ObjectKey{Name: nodeNamespace}, ns); err != nil {
		t.Fatal(err)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("namespace %s does not enforce restricted: %v", nodeNamespace, ns.Labels)
	}
	fsGroup := pod.Spec.SecurityContext.FSGroup
	if fsGroup == nil {
		t.Fatal("the pod has no fsGroup")
	}

	// What the runtime was told, from containerd itself: a read-only root, a user that is not root, the fsGroup.
	if len(pod.Status.ContainerStatuses) != 1 {
		t.Fatalf("want one container status, got %d", len(pod.Status.ContainerStatuses))
	}
	id := strings.TrimPrefix(pod.Status.ContainerStatuses[0].ContainerID, "containerd://")
	out := command(t, "ctr", "--address", n.containerd, "--namespace", "k8s.io", "containers", "info", id)
	var info struct {
		Spec struct {
			Root struct {
				Readonly bool `json:"readonly"`
			} `json:"root"`
			Process struct {
				User struct {
					UID            uint32   `json:"uid"`
					AdditionalGids []uint32 `json:"additionalGids"`
				} `json:"user"`
				Capabilities struct {
					Effective []string `json:"effective"`
				} `json:"capabilities"`
				NoNewPrivileges bool `json:"noNewPrivileges"`
			} `json:"process"`
		} `json:"Spec"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("reading containerd's container info: %v\n%s", err, out)
	}
	s := info.Spec
	if !s.Root.Readonly {
		t.Error("the container's root file system is writable")
	}
	if s.Process.User.UID == 0 {
		t.Error("the container runs as root")
	}
	if len(s.Process.Capabilities.Effective) != 0 {
		t.Errorf("the container has capabilities %v", s.Process.Capabilities.Effective)
	}
	if !s.Process.NoNewPrivileges {
		t.Error("the container may gain privileges")
	}
	if !slices.Contains(s.Process.User.AdditionalGids, uint32(*fsGroup)) {
		t.Errorf("the container's groups %v lack the fsGroup %d", s.Process.User.AdditionalGids, *fsGroup)
	}

	// The storage is writable for that user all the same: a round trip with OpenSSH's sftp.
	work := t.TempDir()
	content := payload.Random(300<<10 + 7)
	local := writeFile(t, work, "up.bin", content)
	script := fmt.Sprintf("mkdir dir\nput %s dir/up.bin\nget dir/up.bin %s\n", local, filepath.Join(work, "back.bin"))
	if out, err := opensshAsIn(ep, knownHosts, "carol", "carol's password", script, work); err != nil {
		t.Fatalf("upload to the storage: %v\n%s", err, out)
	}
	if !bytes.Equal(readFile(t, filepath.Join(work, "back.bin")), content) {
		t.Fatal("the file read back from the storage differs")
	}
}

// opensshAsIn is opensshAs for any endpoint.
func opensshAsIn(ep *localcluster.Endpoint, knownHosts, user, password, script, dir string) (string, error) {
	return opensshAs(ep, knownHosts, user, password, script, dir)
}

func testUserAppliedWithKubectl(t *testing.T, n *nodeTarget, ep *localcluster.Endpoint, knownHosts string) {
	ctx := context.Background()
	before, err := endpointPods(ctx, nodeNamespace, nodeEndpoint)
	if err != nil || len(before) != 1 {
		t.Fatalf("want one ready pod, got %d (%v)", len(before), err)
	}
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: dave-pw, namespace: %[1]s}
stringData: {password: "dave's password"}
---
apiVersion: transfer.pier.dev/v1alpha1
kind: TransferUser
metadata: {name: dave, namespace: %[1]s}
spec:
  endpointRef: {name: %[2]s}
  username: dave
  password: {secretRef: {name: dave-pw}}
`, nodeNamespace, nodeEndpoint)
	applied := time.Now()
	n.kubectlT(t, manifest, "apply", "-f", "-")
	work := t.TempDir()
	eventually(t, "dave logs in", func() error {
		out, err := opensshAs(ep, knownHosts, "dave", "dave's password", "ls\n", work)
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
	t.Logf("dave logged in %s after kubectl apply", time.Since(applied).Round(time.Millisecond))
	after, err := endpointPods(ctx, nodeNamespace, nodeEndpoint)
	if err != nil || len(after) != 1 {
		t.Fatalf("want one ready pod, got %d (%v)", len(after), err)
	}
	if after[0].UID != before[0].UID || restarts(&after[0]) != restarts(&before[0]) {
		t.Errorf("the pod changed: %s (restarts %d) -> %s (restarts %d)", before[0].UID, restarts(&before[0]),
			after[0].UID, restarts(&after[0]))
	}
}

// testTwoReplicas asks for a second pod. With FTP the API server refuses it, saying why: a Service keeps a client
// on one pod per port only, so a passive data connection would reach another pod than its control connection
// (seen here before the rule: curl's EPSV data connection through the cluster IP refused by the other pod). With
// SFTP alone, two pods serve the endpoint, and every session sees the files of every other, whichever pod
// kube-proxy sends it to.
func testTwoReplicas(t *testing.T, te *transferv1alpha1.TransferEndpoint, ep *localcluster.Endpoint) {
	ctx := context.Background()
	c := target.Client()
	err := c.Patch(ctx, te, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":2}}`)))
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "a Service keeps a client on one pod per port") {
		t.Fatalf("two replicas with FTP: err = %v, want the API server's refusal", err)
	}
	if err := c.Patch(ctx, te, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"ftp":null,"replicas":2}}`))); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, te, 2)
	login := sshConfig("carol", nil, ssh.Password("carol's password"))
	// kube-proxy follows the Service's endpoints a moment later: until then a connection may still go to the
	// pod that went away.
	eventually(t, "four new sessions in a row", func() error {
		for range 4 {
			if err := canLogIn(ep, "carol", "carol's password"); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range 12 {
		content := payload.Random(32<<10 + i)
		name := fmt.Sprintf("shared-%d.bin", i)
		if err := sftpPut(ep, login, name, content); err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		got, err := sftpGet(ep, login, name)
		if err != nil {
			t.Fatalf("download %d in a new session: %v", i, err)
		}
		if !bytes.Equal(got, content) {
			t.Fatalf("file %d read back in a new session differs", i)
		}
	}
}

// waitRolledOut waits until the endpoint's Deployment has rolled out completely to replicas pods (no pod of an
// older template left, not even a terminating one) and the Service's endpoints are exactly those pods: a
// connection sent to a pod that is going away fails, as it would for any client during a rollout.
func waitRolledOut(t *testing.T, te *transferv1alpha1.TransferEndpoint, replicas int32) {
	t.Helper()
	ctx := context.Background()
	c := target.Client()
	names := render.NamesFor(te)
	eventually(t, fmt.Sprintf("%d pods of the current template, and only they, behind the Service", replicas), func() error {
		dep := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: te.Namespace, Name: names.Deployment}, dep); err != nil {
			return err
		}
		st := dep.Status
		if st.ObservedGeneration != dep.Generation || st.Replicas != replicas || st.UpdatedReplicas != replicas ||
			st.AvailableReplicas != replicas {
			return fmt.Errorf("the Deployment is rolling out: %+v", st)
		}
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(te.Namespace),
			client.MatchingLabels{render.LabelEndpoint: te.Name}); err != nil {
			return err
		}
		ips := map[string]bool{}
		for _, p := range pods.Items {
			ips[p.Status.PodIP] = true
		}
		if len(pods.Items) != int(replicas) {
			return fmt.Errorf("%d pods, some of them going away", len(pods.Items))
		}
		var list discoveryv1.EndpointSliceList
		if err := c.List(ctx, &list, client.InNamespace(te.Namespace),
			client.MatchingLabels{discoveryv1.LabelServiceName: names.Service}); err != nil {
			return err
		}
		n := 0
		for _, s := range list.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready == nil || !*e.Conditions.Ready || !ips[e.Addresses[0]] {
					return fmt.Errorf("the Service still has endpoint %v (%+v)", e.Addresses, e.Conditions)
				}
				n++
			}
		}
		if n != int(replicas) {
			return fmt.Errorf("the Service has %d endpoints", n)
		}
		return nil
	})
}

// sftpPut writes a file in a session of its own.
func sftpPut(ep *localcluster.Endpoint, cfg *ssh.ClientConfig, name string, data []byte) error {
	s, err := sftpLogin(ep, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	f, err := s.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// sftpGet reads a file in a session of its own.
func sftpGet(ep *localcluster.Endpoint, cfg *ssh.ClientConfig, name string) ([]byte, error) {
	s, err := sftpLogin(ep, cfg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = s.Close() }()
	f, err := s.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return io.ReadAll(f)
}

// testGarbageCollection deletes the endpoint with kubectl, as a user would, and waits until the garbage collector
// has deleted everything the operator made for it, down to the pods of its ReplicaSets.
func testGarbageCollection(t *testing.T, n *nodeTarget, te *transferv1alpha1.TransferEndpoint) {
	ctx := context.Background()
	c := target.Client()
	selector := client.MatchingLabels{render.LabelEndpoint: te.Name}
	lists := map[string]client.ObjectList{
		"Deployment": &appsv1.DeploymentList{}, "ReplicaSet": &appsv1.ReplicaSetList{}, "Pod": &corev1.PodList{},
		"Service": &corev1.ServiceList{}, "Secret": &corev1.SecretList{}, "ServiceAccount": &corev1.ServiceAccountList{},
		"Role": &rbacv1.RoleList{}, "RoleBinding": &rbacv1.RoleBindingList{},
		"PodDisruptionBudget": &policyv1.PodDisruptionBudgetList{},
	}
	children := func() (map[string][]string, error) {
		out := map[string][]string{}
		for kind, list := range lists {
			if err := c.List(ctx, list, client.InNamespace(te.Namespace), selector); err != nil {
				return nil, fmt.Errorf("listing %ss: %w", kind, err)
			}
			items, err := metaItems(list)
			if err != nil {
				return nil, err
			}
			for _, o := range items {
				// Only what the operator owns: the test's own Secrets carry no owner.
				if len(o.GetOwnerReferences()) > 0 {
					out[kind] = append(out[kind], o.GetName())
				}
			}
		}
		return out, nil
	}
	before, err := children()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"Deployment", "ReplicaSet", "Pod", "Service", "Secret", "ServiceAccount"} {
		if len(before[kind]) == 0 {
			t.Fatalf("the endpoint has no %s labeled %v before the deletion: the check would prove nothing (%v)", kind, selector, before)
		}
	}
	t.Logf("children before the deletion: %v", before)
	n.kubectlT(t, "", "delete", "--namespace", te.Namespace, "transferendpoint", te.Name, "--wait=true")
	eventually(t, "every child is deleted", func() error {
		now, err := children()
		if err != nil {
			return err
		}
		if len(now) > 0 {
			return fmt.Errorf("still there: %v", now)
		}
		return nil
	})
	err = c.Get(ctx, client.ObjectKeyFromObject(te), &transferv1alpha1.TransferEndpoint{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("the endpoint: err = %v, want NotFound", err)
	}
	// What spec.retentionPolicy keeps (by default the generated host keys) has no owner, so it is not among the
	// children above, and must still be there.
	if names := render.NamesFor(te); names.GeneratedHostKeys && render.Retains(te.Spec.RetentionPolicy.HostKeys) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: te.Namespace, Name: names.HostKeysSecret}, &corev1.Secret{}); err != nil {
			t.Errorf("the kept host keys %s: %v", names.HostKeysSecret, err)
		}
	}
}

// metaItems are the items of a typed list as objects.
func metaItems(list client.ObjectList) ([]metav1.Object, error) {
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]metav1.Object, 0, len(items))
	for _, item := range items {
		o, err := meta.Accessor(item)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// localPV is the PersistentVolume of localClaim; cluster-scoped, so the uninstall of a run removes it by name.
const localPV = "e2e-node-data"

// localClaim makes a ReadWriteMany claim bound to a local volume in a new folder of this machine, and returns
// its name. A local volume, unlike hostPath, gets the pod's fsGroup, and a pod using it stays within the
// restricted Pod Security Standard. The volume and the folder go when the test ends.
func localClaim(t *testing.T, namespace, name string) string {
	t.Helper()
	localVolume(t, localPV, namespace, name, corev1.ReadWriteMany, "pier-e2e-local")
	create(t, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			StorageClassName: ptr("pier-e2e-local"),
			VolumeName:       localPV,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	})
	return name
}

func ptr[T any](v T) *T { return &v }

// TestNodeManager checks the manager the install runs: a pod of its own image, under restricted Pod Security,
// with the install's ServiceAccount, never restarted. That the RBAC suffices is checked at the end of the run,
// from its log (runNode): a refused request fails the suite.
func TestNodeManager(t *testing.T) {
	requireNode(t)
	ctx := context.Background()
	c := target.Client()
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: managerNamespace}, ns); err != nil {
		t.Fatal(err)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s does not enforce restricted: %v", managerNamespace, ns.Labels)
	}
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(managerNamespace)); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("want one manager pod, got %d", len(pods.Items))
	}
	p := pods.Items[0]
	if p.Status.Phase != corev1.PodRunning || restarts(&p) != 0 {
		t.Errorf("the manager pod is %s with %d restarts", p.Status.Phase, restarts(&p))
	}
	if !strings.Contains(p.Spec.Containers[0].Image, "pier-manager") {
		t.Errorf("the manager runs image %s", p.Spec.Containers[0].Image)
	}
	sa := p.Spec.ServiceAccountName
	if sa == "" || sa == "default" {
		t.Fatalf("the manager runs as ServiceAccount %q, not the install's own", sa)
	}
	// The only bindings naming that ServiceAccount are the install's: the suite grants it nothing.
	var crbs rbacv1.ClusterRoleBindingList
	if err := c.List(ctx, &crbs); err != nil {
		t.Fatal(err)
	}
	for _, b := range crbs.Items {
		for _, s := range b.Subjects {
			if s.Kind == "ServiceAccount" && s.Name == sa && s.Namespace == managerNamespace && !fromInstall(b.Labels, b.Name) {
				t.Errorf("ClusterRoleBinding %s binds the manager but is not the install's", b.Name)
			}
		}
	}
}

// fromInstall reports whether an object is the install's: dist/install.yaml and the chart both label theirs, and
// name them after pier.
func fromInstall(labels map[string]string, name string) bool {
	return strings.HasPrefix(name, "pier") && (labels["app.kubernetes.io/name"] == "pier" ||
		labels["app.kubernetes.io/managed-by"] == "Helm" || labels["app.kubernetes.io/managed-by"] == "kustomize")
}
