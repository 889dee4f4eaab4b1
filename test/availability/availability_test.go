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

package availability

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

const (
	serverImage = "example.test/pier-server:test"
	wait        = 30 * time.Second
)

// TestMissingPriorityClassIsExplained: the ReplicaSet cannot create pods for a PriorityClass that does not exist.
// The endpoint says so, in the API server's words, instead of "0 of 1 pods available"; once the class exists and
// pods are created, the explanation goes away.
func TestMissingPriorityClassIsExplained(t *testing.T) {
	ns := env.Namespace(t)
	className := "pier-test-" + ns
	te := sftpEndpoint(ns, "noclass")
	te.Spec.PodTemplate.PriorityClassName = className
	create(t, te)

	want := fmt.Sprintf("no PriorityClass with name %s was found", className)
	c := waitCondition(t, te, transferv1alpha1.ConditionAvailable, metav1.ConditionFalse, "ReplicaFailure",
		"0 of 1 pods available", "FailedCreate", want)
	t.Logf("Available: %s", c.Message)
	waitCondition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "ReplicaFailure", want)

	class := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: className}, Value: 1000}
	create(t, class)
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), class) })
	// The ReplicaSet controller retries with a growing back-off; a change to the ReplicaSet retries at once.
	rs := replicaSetOf(t, te)
	nudge(t, rs)
	firstPod(t, te)
	c = waitCondition(t, te, transferv1alpha1.ConditionAvailable, metav1.ConditionFalse, "PodsNotAvailable")
	if c.Message != "0 of 1 pods available" {
		t.Errorf("Available says %q after the pods were created", c.Message)
	}
}

// TestPodProblemsAreExplained walks one pod through what a scheduler and a kubelet report for pods that cannot
// run, and checks that each reaches the endpoint's Available condition with the pod's name; then the pod runs.
func TestPodProblemsAreExplained(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(ns, "files")
	create(t, te)
	pod := firstPod(t, te)

	setPodStatus(t, pod, corev1.PodStatus{
		Phase: corev1.PodPending,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 3 Insufficient memory."}},
	})
	waitCondition(t, te, transferv1alpha1.ConditionAvailable, metav1.ConditionFalse, "PodsUnschedulable",
		"0 of 1 pods available", pod.Name, "Unschedulable", "3 Insufficient memory")

	scheduled := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}
	setPodStatus(t, pod, corev1.PodStatus{
		Phase:      corev1.PodPending,
		Conditions: []corev1.PodCondition{scheduled},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "pier-server", Image: serverImage, State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "` + serverImage + `"`},
		}}},
	})
	waitCondition(t, te, transferv1alpha1.ConditionAvailable, metav1.ConditionFalse, "PodsFailing",
		pod.Name, "pier-server", "ImagePullBackOff", "Back-off pulling image")
	waitCondition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "PodsFailing", "ImagePullBackOff")

	setPodStatus(t, pod, corev1.PodStatus{
		Phase:      corev1.PodRunning,
		Conditions: []corev1.PodCondition{scheduled},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "pier-server", Image: serverImage, RestartCount: 4,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
				Message: "back-off 1m20s restarting failed container=pier-server"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 2, Reason: "Error", Message: "reading /etc/pier/config/config.yaml: no such file"}},
		}},
	})
	c := waitCondition(t, te, transferv1alpha1.ConditionAvailable, metav1.ConditionFalse, "PodsFailing",
		"CrashLoopBackOff", "exit code 2", "reading /etc/pier/config/config.yaml: no such file")
	t.Logf("Available: %s", c.Message)

	// The pod runs and is ready: the deployment controller counts it available, and so does the endpoint.
	now := metav1.Now()
	setPodStatus(t, pod, corev1.PodStatus{
		Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{scheduled,
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-time.Minute))},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "pier-server", Image: serverImage, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}},
	})
	c = waitCondition(t, te, transferv1alpha1.ConditionAvailable, metav1.ConditionTrue, "MinimumReplicasAvailable")
	if c.Message != "1 of 1 pods available" {
		t.Errorf("Available says %q for a running pod", c.Message)
	}

	// A rollout whose new pod cannot pull its image: the old pod keeps serving, so Available stays True, and its
	// message names the new pod's problem instead of hiding the stuck rollout.
	eventually(t, "rolling the pods", func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		te.Spec.PodTemplate.Metadata.Annotations = map[string]string{"example.test/rollout": "2"}
		return env.Client.Update(context.Background(), te)
	})
	var rolled *corev1.Pod
	eventually(t, "the new pod", func() error {
		pods := podsOf(t, te)
		for i := range pods {
			if pods[i].Name != pod.Name {
				rolled = &pods[i]
				return nil
			}
		}
		return fmt.Errorf("%d pods, none new", len(pods))
	})
	setPodStatus(t, rolled, corev1.PodStatus{
		Phase:      corev1.PodPending,
		Conditions: []corev1.PodCondition{scheduled},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "pier-server", Image: serverImage, State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "manifest unknown"},
		}}},
	})
	waitCondition(t, te, transferv1alpha1.ConditionAvailable, metav1.ConditionTrue, "MinimumReplicasAvailable",
		"1 of 1 pods available", rolled.Name, "ErrImagePull: manifest unknown")
	waitCondition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
}

func sftpEndpoint(namespace, name string) *transferv1alpha1.TransferEndpoint {
	return &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}},
	}
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := env.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	poll.Until(t, what, wait, check)
}

// waitCondition waits until the endpoint's condition has the status and reason for its generation, and a message
// that holds every one of parts.
func waitCondition(t *testing.T, te *transferv1alpha1.TransferEndpoint, condType string, status metav1.ConditionStatus,
	reason string, parts ...string) metav1.Condition {
	t.Helper()
	var found metav1.Condition
	eventually(t, condType+" "+reason, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		c := meta.FindStatusCondition(te.Status.Conditions, condType)
		if c == nil {
			return fmt.Errorf("no %s condition in %v", condType, te.Status.Conditions)
		}
		if c.Status != status || c.Reason != reason || c.ObservedGeneration != te.Generation {
			return fmt.Errorf("%s is %s/%s: %s", condType, c.Status, c.Reason, c.Message)
		}
		for _, p := range parts {
			if !strings.Contains(c.Message, p) {
				return fmt.Errorf("%s does not say %q: %s", condType, p, c.Message)
			}
		}
		found = *c
		return nil
	})
	return found
}

// replicaSetOf waits for the ReplicaSet the deployment controller makes for the endpoint's Deployment.
func replicaSetOf(t *testing.T, te *transferv1alpha1.TransferEndpoint) *appsv1.ReplicaSet {
	t.Helper()
	var rs *appsv1.ReplicaSet
	eventually(t, "the ReplicaSet", func() error {
		var list appsv1.ReplicaSetList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(te.Namespace),
			client.MatchingLabels(render.SelectorLabels(te))); err != nil {
			return err
		}
		if len(list.Items) != 1 {
			return fmt.Errorf("%d ReplicaSets", len(list.Items))
		}
		rs = &list.Items[0]
		return nil
	})
	return rs
}

// nudge changes an annotation of the ReplicaSet, which makes its controller sync it now.
func nudge(t *testing.T, rs *appsv1.ReplicaSet) {
	t.Helper()
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{"test.pier.dev/nudge":"%d"}}}`, time.Now().UnixNano())
	if err := env.Client.Patch(context.Background(), rs, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatalf("annotating ReplicaSet %s: %v", rs.Name, err)
	}
}

// firstPod waits for the endpoint's pod, created by its ReplicaSet.
func firstPod(t *testing.T, te *transferv1alpha1.TransferEndpoint) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	eventually(t, "the endpoint's pod", func() error {
		pods := podsOf(t, te)
		if len(pods) != 1 {
			return fmt.Errorf("%d pods", len(pods))
		}
		pod = &pods[0]
		return nil
	})
	return pod
}

func podsOf(t *testing.T, te *transferv1alpha1.TransferEndpoint) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(te.Namespace),
		client.MatchingLabels(render.SelectorLabels(te))); err != nil {
		t.Fatalf("listing pods: %v", err)
	}
	return list.Items
}

// setPodStatus writes the pod's status as the scheduler and the kubelet would.
func setPodStatus(t *testing.T, pod *corev1.Pod, status corev1.PodStatus) {
	t.Helper()
	eventually(t, "writing the pod's status", func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(pod), pod); err != nil {
			return err
		}
		pod.Status = status
		return env.Client.Status().Update(context.Background(), pod)
	})
}
