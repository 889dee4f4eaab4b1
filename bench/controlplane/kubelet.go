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
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kubelet stands in for the kubelet there is not: every pod the replicaset controller creates is marked running
// and ready, so the deployment controller reports the Deployment available, the endpoint becomes Available, and
// its users can become Ready, as on a cluster whose pods start. It writes as the administrator, so its writes are
// not the manager's.
type kubelet struct {
	client client.Client
	log    *slog.Logger
	mu     sync.Mutex
	queued map[types.NamespacedName]bool
	work   chan types.NamespacedName
}

// kubeletWorkers write pod statuses at once; a node's kubelet starts pods in parallel too.
const kubeletWorkers = 4

func newKubelet(c client.Client, log *slog.Logger) *kubelet {
	return &kubelet{client: c, log: log, queued: map[types.NamespacedName]bool{}, work: make(chan types.NamespacedName, 1<<16)}
}

// run marks the queued pods ready until ctx ends.
func (k *kubelet) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range kubeletWorkers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case key := <-k.work:
					k.mu.Lock()
					delete(k.queued, key)
					k.mu.Unlock()
					k.markReady(ctx, key)
				}
			}
		})
	}
	wg.Wait()
}

// observe queues a pod that is not ready yet.
func (k *kubelet) observe(pod *corev1.Pod) {
	if !pod.DeletionTimestamp.IsZero() || podReady(pod) {
		return
	}
	key := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.queued[key] {
		return
	}
	k.queued[key] = true
	k.work <- key
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// markReady writes the status a kubelet writes once every container runs and passes its readiness probe.
func (k *kubelet) markReady(ctx context.Context, key types.NamespacedName) {
	for attempt := 0; attempt < 5 && ctx.Err() == nil; attempt++ {
		pod := &corev1.Pod{}
		if err := k.client.Get(ctx, key, pod); err != nil {
			if !apierrors.IsNotFound(err) && ctx.Err() == nil {
				k.log.Warn("stand-in kubelet: reading a pod", "pod", key.Name, "error", err)
			}
			return
		}
		if podReady(pod) {
			return
		}
		now := metav1.Now()
		ready := func(t corev1.PodConditionType) corev1.PodCondition {
			return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now}
		}
		pod.Status.Phase = corev1.PodRunning
		pod.Status.StartTime = &now
		pod.Status.Conditions = []corev1.PodCondition{ready(corev1.PodScheduled), ready(corev1.PodInitialized),
			ready(corev1.ContainersReady), ready(corev1.PodReady)}
		pod.Status.ContainerStatuses = nil
		for _, c := range pod.Spec.Containers {
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, Ready: true, Started: ptr(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
		}
		err := k.client.Status().Update(ctx, pod)
		if err == nil || apierrors.IsNotFound(err) {
			return
		}
		if !apierrors.IsConflict(err) {
			if ctx.Err() == nil {
				k.log.Warn("stand-in kubelet: writing a pod's status", "pod", key.Name, "error", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func ptr[T any](v T) *T { return &v }
