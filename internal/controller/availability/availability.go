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

// Package availability decides a TransferEndpoint's Available condition from its Deployment and pods. When pods
// are missing it says why, in the words of the Kubernetes component that knows: the ReplicaSet that cannot create
// them (the Deployment's ReplicaFailure condition), the scheduler that cannot place one, the kubelet that cannot
// start a container. "0 of 1 pods available" alone sends the owner of the endpoint hunting through ReplicaSets
// and events they may not be allowed to read.
package availability

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// maxExplanation bounds what a pod's problem adds to a condition message: a termination message may hold
// kilobytes of log, and the status is read by people, not parsers.
const maxExplanation = 1024

// Condition is the Available condition for the endpoint's Deployment and pods (the pods the Deployment selects,
// in any order). Its status follows the Deployment's own Available condition; when pods are missing, or one of
// them fails, the message says which and why.
func Condition(d *appsv1.Deployment, pods []corev1.Pod) metav1.Condition {
	want := replicas(d)
	c := metav1.Condition{Type: transferv1alpha1.ConditionAvailable, Status: metav1.ConditionFalse,
		Reason: transferv1alpha1.ReasonPodsNotAvailable, Message: fmt.Sprintf("%d of %d pods available", d.Status.AvailableReplicas, want)}
	if want == 0 {
		c.Reason, c.Message = transferv1alpha1.ReasonScaledToZero, "spec.replicas is 0"
		return c
	}
	if deploymentAvailable(d) {
		c.Status, c.Reason = metav1.ConditionTrue, transferv1alpha1.ReasonMinimumReplicasAvailable
	}
	if reason, why := explain(d, pods); why != "" {
		c.Message += ": " + why
		if c.Status == metav1.ConditionFalse {
			c.Reason = reason
		}
	}
	return c
}

// explain is the first concrete reason pods are missing or failing: the ReplicaSet's failure to create them, else
// the problem of the newest pod that has one (the newest belong to the rollout in progress).
func explain(d *appsv1.Deployment, pods []corev1.Pod) (reason, why string) {
	for _, dc := range d.Status.Conditions {
		if dc.Type == appsv1.DeploymentReplicaFailure && dc.Status == corev1.ConditionTrue {
			return transferv1alpha1.ReasonReplicaFailure, bounded(dc.Reason + ": " + dc.Message)
		}
	}
	newestFirst := make([]*corev1.Pod, 0, len(pods))
	for i := range pods {
		newestFirst = append(newestFirst, &pods[i])
	}
	slices.SortFunc(newestFirst, func(a, b *corev1.Pod) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	for _, p := range newestFirst {
		if reason, why := PodProblem(p); why != "" {
			return reason, why
		}
	}
	return "", ""
}

// PodProblem is why the pod cannot run, as a condition reason and a one-line explanation that names the pod; both
// are empty when nothing concrete is known (a pod being created or starting has no problem yet). Pods on their
// way out (deleted, or finished) are not looked at: the ReplicaSet replaces them.
func PodProblem(p *corev1.Pod) (reason, why string) {
	if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return "", ""
	}
	statuses := slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses)
	for _, cs := range statuses {
		if problem := containerProblem(cs); problem != "" {
			return transferv1alpha1.ReasonPodsFailing, bounded(fmt.Sprintf("pod %s: container %s: %s", p.Name, cs.Name, problem))
		}
	}
	for _, pc := range p.Status.Conditions {
		if pc.Type == corev1.PodScheduled && pc.Status == corev1.ConditionFalse {
			return transferv1alpha1.ReasonPodsUnschedulable, bounded(fmt.Sprintf("pod %s: %s: %s", p.Name, pc.Reason, pc.Message))
		}
	}
	return "", ""
}

// containerProblem explains a container that waits for something other than its own start: the kubelet sets
// reasons such as ErrImagePull, ImagePullBackOff, CrashLoopBackOff, CreateContainerConfigError or
// InvalidImageName. A crash loop also tells how the container last ended, which is where the cause is.
func containerProblem(cs corev1.ContainerStatus) string {
	w := cs.State.Waiting
	if w == nil || w.Reason == "" || w.Reason == "ContainerCreating" || w.Reason == "PodInitializing" {
		return ""
	}
	problem := w.Reason
	if w.Message != "" {
		problem += ": " + w.Message
	}
	if t := cs.LastTerminationState.Terminated; t != nil {
		problem += fmt.Sprintf("; last exit code %d", t.ExitCode)
		if t.Reason != "" {
			problem += " (" + t.Reason + ")"
		}
		if t.Message != "" {
			problem += ": " + t.Message
		}
	}
	return problem
}

// bounded puts the explanation on one line and cuts it to maxExplanation bytes, on a character boundary.
func bounded(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxExplanation {
		return s
	}
	cut := maxExplanation
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// deploymentAvailable is the Deployment's own Available condition, with at least one pod actually available.
func deploymentAvailable(d *appsv1.Deployment) bool {
	for _, dc := range d.Status.Conditions {
		if dc.Type == appsv1.DeploymentAvailable && dc.Status == corev1.ConditionTrue && d.Status.AvailableReplicas > 0 {
			return true
		}
	}
	return false
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}
