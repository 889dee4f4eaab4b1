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
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestUpDownLeavesNothing brings the node up (or uses the one that runs), runs a pod with a Secret volume behind
// a NodePort Service, so that there are mounts, a network namespace, the bridge, iptables chains of kube-proxy, the
// kubelet and the guard, and processes of containerd's shims; then runs down and checks that none of it is left
// and that the kernel settings are back to what they were before the first up. down runs twice: the second finds
// nothing to do. It needs root and the binaries of hack/setup-envtest.sh --with-node, so it runs only with
// PIER_NODE_CYCLE=1 (make test-e2e-node runs it last, and make test-local-cluster alone).
func TestUpDownLeavesNothing(t *testing.T) {
	if os.Getenv("PIER_NODE_CYCLE") != "1" {
		t.Skip("brings up and tears down a node on this machine: PIER_NODE_CYCLE=1 PIER_NODE_BIN=DIR (make test-local-cluster)")
	}
	bin := os.Getenv("PIER_NODE_BIN")
	if bin == "" {
		t.Fatal("PIER_NODE_BIN is not set: the folder hack/setup-envtest.sh --with-node prints")
	}
	l := layout{state: envOr("PIER_NODE_STATE", "/var/lib/pier-node"), run: envOr("PIER_NODE_RUN", "/run/pier-node")}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	before := machineSysctls(t, l)
	if err := up(ctx, l, upOptions{binDir: bin, repoRoot: root, timeout: 5 * time.Minute}, log); err != nil {
		t.Fatal(err)
	}
	runPodBehindNodePort(t, l)
	if left := leftovers(ctx, l); !containsAll(left, "process ", "bridge "+bridgeName, "iptables chain iptables:filter/KUBE-",
		"iptables chain iptables:filter/PIER-NODE-OUTPUT", "mount /run/netns/cni-", "mount "+l.kubeletRoot()+"/pods/") {
		t.Fatalf("before down, the check does not see what the node made (it could not fail): %v", left)
	}

	start := time.Now()
	if err := down(ctx, l, log); err != nil {
		t.Fatalf("down: %v", err)
	}
	t.Logf("down took %s", time.Since(start).Round(time.Millisecond))
	if left := leftovers(ctx, l); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	for key, want := range before {
		if got := readSysctl(key); got != want {
			t.Errorf("%s = %s after down, was %s before up", key, got, want)
		}
	}
	for _, dir := range l.removedByDown() {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s is still there (err %v)", dir, err)
		}
	}
	if err := down(ctx, l, log); err != nil {
		t.Errorf("a second down: %v", err)
	}
}

// machineSysctls are the machine's own settings: the snapshot of an up that ran already, else the current values.
func machineSysctls(t *testing.T, l layout) map[string]string {
	t.Helper()
	values := map[string]string{}
	if data, err := os.ReadFile(l.sysctlSnapshot()); err == nil {
		if err := json.Unmarshal(data, &values); err != nil {
			t.Fatal(err)
		}
		return values
	}
	for _, key := range sysctls {
		if v := readSysctl(key); v != "" {
			values[key] = v
		}
	}
	return values
}

func readSysctl(key string) string {
	data, _ := os.ReadFile(sysctlPath(key))
	return strings.TrimSpace(string(data))
}

func containsAll(list []string, prefixes ...string) bool {
	for _, p := range prefixes {
		found := false
		for _, s := range list {
			if strings.HasPrefix(s, p) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// runPodBehindNodePort runs the pause image as a pod with a Secret volume, behind a NodePort Service, and waits
// until it runs.
func runPodBehindNodePort(t *testing.T, l layout) {
	t.Helper()
	ctx := context.Background()
	c, err := kubeClient(l.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cycle-"}}
	if ns, err = c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"k": "v"}}
	if _, err := c.CoreV1().Secrets(ns.Name).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "cycle"}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: labels},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: pauseImage, ImagePullPolicy: corev1.PullNever,
				VolumeMounts: []corev1.VolumeMount{{Name: "s", MountPath: "/s"}}}},
			Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}}},
		},
	}
	if _, err := c.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "svc"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: labels,
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if _, err := c.CoreV1().Services(ns.Name).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p, err := c.CoreV1().Pods(ns.Name).Get(ctx, "p", metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pod does not run after 2 minutes: %v %+v", err, p.Status)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
