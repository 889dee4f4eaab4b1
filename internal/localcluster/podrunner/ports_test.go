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

package podrunner_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// The tests of the host-port rule: pods with the same container ports take turns instead of crash-looping.

// podNameEnv gives the container its pod's name, which the echoserver reports, to tell pods apart.
var podNameEnv = fieldEnv("POD_NAME", "metadata.name")

func TestReplacementWaitsForTheDrainingPod(t *testing.T) {
	ns := env.Namespace(t)
	r := startRunner(t, ns)
	restarts := watchRestarts(t, ns)
	port := testcreds.FreePort(t)
	createDeployment(t, ns, "drainer", port, func(spec *corev1.PodSpec) {
		// It goes on serving for a minute after SIGTERM, well within its grace period, like a server draining
		// its connections; the test ends the drain once it has seen the replacement wait.
		spec.TerminationGracePeriodSeconds = new(int64(120))
		spec.Containers[0].Args = append(spec.Containers[0].Args, "--drain", "1m")
		spec.Containers[0].Env = []corev1.EnvVar{podNameEnv}
	})
	old := deploymentAvailable(t, ns, "drainer")

	if err := k8s.CoreV1().Pods(ns).Delete(bg, old.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The ReplicaSet makes a replacement at once; it waits for the port instead of failing to bind it.
	replacement := waitingReplacement(t, ns, old, port)
	// The old process got SIGTERM and drains (the ReplicaSet can make the replacement before the runner has
	// signalled the old pod), and still serves meanwhile.
	oldLog := filepath.Join(r.stateDir, "pods", string(old.UID), "echo.log")
	eventually(t, "the old pod draining", func() error {
		log, err := os.ReadFile(oldLog)
		if err != nil {
			return fmt.Errorf("reading the old pod's log: %w", err)
		}
		if !strings.Contains(string(log), "draining for") {
			return fmt.Errorf("the old pod's log does not say it drains: %q", log)
		}
		return nil
	})
	if body, err := get(port, "/info"); err != nil || !strings.Contains(body, "POD_NAME="+old.Name) {
		t.Fatalf("the draining pod does not serve: %q, %v", body, err)
	}

	_, _ = get(port, "/exit?code=0") // the drain is over; the connection breaks as the process exits
	podGone(t, ns, old.Name)
	pod := deploymentAvailable(t, ns, "drainer")
	if pod.Name != replacement {
		t.Fatalf("the ready pod is %s, want the replacement %s", pod.Name, replacement)
	}
	if cs := pod.Status.ContainerStatuses[0]; cs.RestartCount != 0 || cs.LastTerminationState.Terminated != nil {
		t.Errorf("the replacement restarted: %+v", cs)
	}
	servedBy(t, port, replacement)
	if got := restarts(); len(got) > 0 {
		t.Errorf("pods restarted: %q", got)
	}

	// Scale down and end the replacement's drain too, rather than have the runner's shutdown wait for it.
	scale := []byte(`{"spec":{"replicas":0}}`)
	if _, err := k8s.AppsV1().Deployments(ns).Patch(bg, "drainer", types.MergePatchType, scale, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replacement gone", func() error {
		p, err := k8s.CoreV1().Pods(ns).Get(bg, replacement, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err == nil && p.DeletionTimestamp != nil:
			_, _ = get(port, "/exit?code=0")
		}
		return fmt.Errorf("still there (%w)", err)
	})
}

// waitingReplacement waits until the pod that replaces old waits for old's port, and returns its name.
func waitingReplacement(t *testing.T, namespace string, old *corev1.Pod, port int) string {
	t.Helper()
	var replacement string
	eventually(t, "the replacement waiting for the old pod's port", func() error {
		pods, err := k8s.CoreV1().Pods(namespace).List(bg, metav1.ListOptions{})
		if err != nil {
			return err
		}
		i := slices.IndexFunc(pods.Items, func(p corev1.Pod) bool { return p.UID != old.UID })
		if i < 0 {
			return errors.New("no replacement yet")
		}
		p := pods.Items[i]
		replacement = p.Name
		cs := p.Status.ContainerStatuses
		if len(cs) != 1 || cs[0].State.Waiting == nil || cs[0].State.Waiting.Reason != "ContainerCreating" {
			return fmt.Errorf("replacement %s: container statuses %+v", p.Name, cs)
		}
		if msg := cs[0].State.Waiting.Message; !strings.Contains(msg, old.Name) || !strings.Contains(msg, strconv.Itoa(port)) {
			return fmt.Errorf("replacement %s: the waiting message %q does not name the old pod and the port", p.Name, msg)
		}
		return nil
	})
	return replacement
}

func TestRollingUpdateCompletes(t *testing.T) {
	ns := env.Namespace(t)
	startRunner(t, ns)
	restarts := watchRestarts(t, ns)
	port := testcreds.FreePort(t)
	createDeployment(t, ns, "rollout", port, withEnv(podNameEnv))
	old := deploymentAvailable(t, ns, "rollout")

	// What kubectl rollout restart does. The new pod comes first (maxSurge 1, maxUnavailable 0) and wants the
	// port the old one holds: the old one hands it over.
	patch := `{"spec":{"template":{"metadata":{"annotations":{"example.test/restartedAt":"now"}}}}}`
	if _, err := k8s.AppsV1().Deployments(ns).Patch(bg, "rollout", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rollout complete", func() error { return rolledOut(ns, "rollout") })
	podGone(t, ns, old.Name)
	pods, err := k8s.CoreV1().Pods(ns).List(bg, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("%d pods, want 1", len(pods.Items))
	}
	pod := pods.Items[0]
	if pod.Annotations["example.test/restartedAt"] != "now" || !isReady(&pod) || pod.DeletionTimestamp != nil {
		t.Errorf("pod %s: annotations %v, ready %v, deleted %v; want the new template's, ready",
			pod.Name, pod.Annotations, isReady(&pod), pod.DeletionTimestamp)
	}
	if cs := pod.Status.ContainerStatuses[0]; cs.RestartCount != 0 {
		t.Errorf("the new pod restarted: %+v", cs)
	}
	servedBy(t, port, pod.Name)
	if got := restarts(); len(got) > 0 {
		t.Errorf("pods restarted: %q", got)
	}
}

// rolledOut says why the one-replica Deployment's rollout is not complete yet: it must be Available, with one
// replica, the updated one, and no other.
func rolledOut(namespace, name string) error {
	d, available, err := getDeployment(namespace, name)
	if err != nil {
		return err
	}
	s := d.Status
	if s.ObservedGeneration < d.Generation || !available || s.UpdatedReplicas != 1 || s.Replicas != 1 || s.AvailableReplicas != 1 {
		return fmt.Errorf("generation %d, available %v, status %+v", d.Generation, available, s)
	}
	pods, err := k8s.CoreV1().Pods(namespace).List(bg, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(pods.Items) != 1 {
		return fmt.Errorf("%d pods, want 1", len(pods.Items))
	}
	return nil
}

func TestNewerPodTakesThePortsOver(t *testing.T) {
	ns := env.Namespace(t)
	r := startRunner(t, ns)
	port := testcreds.FreePort(t)
	spec := echoPodSpec(port)
	spec.Containers[0].Env = []corev1.EnvVar{podNameEnv}
	// Named so that name order is the reverse of creation order.
	createPod(t, ns, "older", spec)
	podReady(t, ns, "older")
	createPod(t, ns, "newer", spec)
	podReady(t, ns, "newer")

	older, err := k8s.CoreV1().Pods(ns).Get(bg, "older", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs := older.Status.ContainerStatuses[0]
	if cs.State.Terminated == nil || cs.State.Terminated.Reason != "PortsHandedOver" ||
		!strings.Contains(cs.State.Terminated.Message, "newer") || cs.Ready || isReady(older) || cs.RestartCount != 0 {
		t.Errorf("the older pod: ready %v, container status %+v; want terminated (PortsHandedOver), not ready",
			isReady(older), cs)
	}
	if body, err := get(port, "/info"); err != nil || !strings.Contains(body, "POD_NAME=newer") {
		t.Errorf("not served by the newer pod: %q, %v", body, err)
	}
	if got, want := r.Running(), []types.NamespacedName{{Namespace: ns, Name: "newer"}}; !slices.Equal(got, want) {
		t.Errorf("Running() = %v, want %v", got, want)
	}

	// Once the newer pod is gone, the older one runs again.
	if err := k8s.CoreV1().Pods(ns).Delete(bg, "newer", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	podReady(t, ns, "older")
	servedBy(t, port, "older")
	older, err = k8s.CoreV1().Pods(ns).Get(bg, "older", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if last := older.Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.Reason != "PortsHandedOver" {
		t.Errorf("the older pod's last termination %+v, want PortsHandedOver", last)
	}
}

// podGone waits until the pod is gone from the API.
func podGone(t *testing.T, namespace, name string) {
	t.Helper()
	eventually(t, "pod "+name+" gone", func() error {
		_, err := k8s.CoreV1().Pods(namespace).Get(bg, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%w)", err)
	})
}

// servedBy waits until the echoserver of the pod called name answers on port.
func servedBy(t *testing.T, port int, name string) {
	t.Helper()
	eventually(t, "served by "+name, func() error {
		body, err := get(port, "/info")
		if err != nil {
			return err
		}
		if !strings.Contains(body, "POD_NAME="+name) {
			return fmt.Errorf("served by another pod: %s", body)
		}
		return nil
	})
}

// watchRestarts records, until the test ends, every pod of the namespace that reports a restarted container, and
// returns what it recorded so far.
func watchRestarts(t *testing.T, namespace string) func() []string {
	t.Helper()
	w, err := k8s.CoreV1().Pods(namespace).Watch(bg, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var restarted []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			for _, cs := range pod.Status.ContainerStatuses {
				if cs.RestartCount > 0 {
					mu.Lock()
					restarted = append(restarted, fmt.Sprintf("%s: restart count %d, last state %+v",
						pod.Name, cs.RestartCount, cs.LastTerminationState))
					mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(func() {
		w.Stop()
		<-done
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(restarted)
	}
}
