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
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

func deployment(replicas, available int32, conditions ...appsv1.DeploymentCondition) *appsv1.Deployment {
	return &appsv1.Deployment{
		Spec:   appsv1.DeploymentSpec{Replicas: &replicas},
		Status: appsv1.DeploymentStatus{AvailableReplicas: available, Conditions: conditions},
	}
}

var (
	isAvailable   = appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}
	notAvailable  = appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse}
	failedCreate  = appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: `pods "x-" is forbidden: exceeded quota: q`}
	resolvedFails = appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionFalse, Reason: "FailedCreate", Message: "old"}
	base          = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
)

// pod is a pod created at base+age seconds.
func pod(name string, age int, mutate func(*corev1.Pod)) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(base.Add(time.Duration(age) * time.Second))},
		Status: corev1.PodStatus{Phase: corev1.PodPending}}
	if mutate != nil {
		mutate(&p)
	}
	return p
}

func waiting(reason, message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "pier-server",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}})
	}
}

func unschedulable(message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled,
			Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: message})
	}
}

func TestCondition(t *testing.T) {
	deleted := metav1.NewTime(base)
	tests := []struct {
		name    string
		d       *appsv1.Deployment
		pods    []corev1.Pod
		status  metav1.ConditionStatus
		reason  string
		message string
	}{
		{"available", deployment(2, 2, isAvailable), nil,
			metav1.ConditionTrue, transferv1alpha1.ReasonMinimumReplicasAvailable, "2 of 2 pods available"},
		{"no status yet", deployment(1, 0), nil,
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsNotAvailable, "0 of 1 pods available"},
		{"replicas unset means one", &appsv1.Deployment{}, nil,
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsNotAvailable, "0 of 1 pods available"},
		{"Available without an available pod is not available", deployment(1, 0, isAvailable), nil,
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsNotAvailable, "0 of 1 pods available"},
		{"scaled to zero", deployment(0, 0, isAvailable), []corev1.Pod{pod("a", 0, waiting("CrashLoopBackOff", ""))},
			metav1.ConditionFalse, transferv1alpha1.ReasonScaledToZero, "spec.replicas is 0"},
		{"pods starting", deployment(1, 0, notAvailable), []corev1.Pod{
			pod("a", 0, waiting("ContainerCreating", "")), pod("b", 1, nil), pod("c", 2, waiting("PodInitializing", ""))},
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsNotAvailable, "0 of 1 pods available"},
		{"the ReplicaSet cannot create pods", deployment(1, 0, notAvailable, failedCreate), nil,
			metav1.ConditionFalse, transferv1alpha1.ReasonReplicaFailure, `0 of 1 pods available: FailedCreate: pods "x-" is forbidden: exceeded quota: q`},
		{"a creation failure comes before pod problems", deployment(3, 1, notAvailable, failedCreate),
			[]corev1.Pod{pod("a", 0, waiting("CrashLoopBackOff", ""))},
			metav1.ConditionFalse, transferv1alpha1.ReasonReplicaFailure, `1 of 3 pods available: FailedCreate: pods "x-" is forbidden: exceeded quota: q`},
		{"a resolved creation failure says nothing", deployment(1, 0, notAvailable, resolvedFails), nil,
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsNotAvailable, "0 of 1 pods available"},
		{"unschedulable", deployment(1, 0, notAvailable), []corev1.Pod{pod("a", 0, unschedulable("0/3 nodes are available: 3 Insufficient cpu."))},
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsUnschedulable, "0 of 1 pods available: pod a: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu."},
		{"image pull", deployment(1, 0, notAvailable), []corev1.Pod{pod("a", 0, waiting("ImagePullBackOff", `Back-off pulling image "x"`))},
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsFailing, `0 of 1 pods available: pod a: container pier-server: ImagePullBackOff: Back-off pulling image "x"`},
		{"the newest pod's problem first", deployment(2, 0, notAvailable), []corev1.Pod{
			pod("old", 0, unschedulable("taints")), pod("new", 5, waiting("ErrImagePull", "not found")), pod("mid", 3, unschedulable("cpu"))},
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsFailing, "0 of 2 pods available: pod new: container pier-server: ErrImagePull: not found"},
		{"same age: by name", deployment(2, 0, notAvailable), []corev1.Pod{
			pod("b", 0, unschedulable("b")), pod("a", 0, unschedulable("a"))},
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsUnschedulable, "0 of 2 pods available: pod a: Unschedulable: a"},
		{"deleted and finished pods are not looked at", deployment(1, 0, notAvailable), []corev1.Pod{
			pod("gone", 9, func(p *corev1.Pod) { p.DeletionTimestamp = &deleted; waiting("CrashLoopBackOff", "")(p) }),
			pod("evicted", 8, func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed; p.Status.Reason = "Evicted" }),
			pod("done", 7, func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded; waiting("ErrImagePull", "")(p) })},
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsNotAvailable, "0 of 1 pods available"},
		{"an init container", deployment(1, 0, notAvailable), []corev1.Pod{pod("a", 0, func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "mesh-init",
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: `secret "mesh" not found`}}}}
			waiting("PodInitializing", "")(p)
		})},
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsFailing, `0 of 1 pods available: pod a: container mesh-init: CreateContainerConfigError: secret "mesh" not found`},
		{"a crash loop tells how the container ended", deployment(1, 0, notAvailable), []corev1.Pod{pod("a", 0, func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "pier-server",
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 137, Reason: "OOMKilled", Message: "line one\nline two\n"}}}}
		})},
			metav1.ConditionFalse, transferv1alpha1.ReasonPodsFailing, "0 of 1 pods available: pod a: container pier-server: CrashLoopBackOff: back-off 10s; last exit code 137 (OOMKilled): line one line two"},
		{"available, with a stuck rollout", deployment(1, 1, isAvailable), []corev1.Pod{
			pod("old", 0, nil), pod("new", 9, waiting("ImagePullBackOff", "no such image"))},
			metav1.ConditionTrue, transferv1alpha1.ReasonMinimumReplicasAvailable, "1 of 1 pods available: pod new: container pier-server: ImagePullBackOff: no such image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Condition(tt.d, tt.pods)
			if c.Type != "Available" || c.Status != tt.status || c.Reason != tt.reason || c.Message != tt.message {
				t.Errorf("got %s %s/%s %q\nwant Available %s/%s %q", c.Type, c.Status, c.Reason, c.Message, tt.status, tt.reason, tt.message)
			}
		})
	}
}

// TestLongMessagesAreBounded: a termination message may hold kilobytes of log; the condition keeps a bounded,
// valid UTF-8 prefix of it.
func TestLongMessagesAreBounded(t *testing.T) {
	p := pod("a", 0, func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "pier-server",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 1, Message: strings.Repeat("é", 4096)}}}}
	})
	reason, why := PodProblem(&p)
	if reason != transferv1alpha1.ReasonPodsFailing || len(why) > maxExplanation+len("...") || !strings.HasSuffix(why, "...") {
		t.Errorf("reason %s, %d bytes: %.80q...", reason, len(why), why)
	}
	if !utf8.ValidString(why) {
		t.Error("the cut message is not valid UTF-8")
	}
}
