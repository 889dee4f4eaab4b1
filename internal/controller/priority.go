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

package controller

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// Work for an endpoint the operator has reconciled before goes ahead of the first reconcile of a new endpoint, in
// both reconcilers' queues. A change on an endpoint that serves (a new user, a revoked one, a changed password) is
// small, and somebody is waiting for it; setting a new endpoint up creates its children and hashes all its users'
// passwords, and in a bulk import comes by the hundreds. Without this a user added to a serving endpoint, or
// removed from it, waited behind the whole import (minutes for 1,000 endpoints); with it, behind the reconciles
// already running. Among themselves, items keep the order they came in.
const (
	priorityNewEndpoint   = 0
	priorityKnownEndpoint = 10
)

// priorityLookupTimeout bounds the cache read that decides an item's priority; it waits only while the cache is
// still syncing, and the item then goes in with the lower priority.
const priorityLookupTimeout = time.Second

// prioritizedQueue is controller-runtime's priority queue, where an item added without a priority of its own gets
// the one priorityOf says. Items added with one keep it: controller-runtime's low priority for the objects of the
// initial list and of resyncs, and a retry's priority, which is the one its item had.
type prioritizedQueue struct {
	priorityqueue.PriorityQueue[reconcile.Request]
	priorityOf func(reconcile.Request) int
}

// newPrioritizedQueue returns the controller.Options.NewQueue of a controller whose items' priority is priorityOf.
func newPrioritizedQueue(log logr.Logger, priorityOf func(reconcile.Request) int) func(string, workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	return func(name string, rateLimiter workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
		queue := priorityqueue.New(name, func(o *priorityqueue.Opts[reconcile.Request]) {
			o.Log = log.WithValues("controller", name)
			o.RateLimiter = rateLimiter
		})
		return prioritizedQueue{PriorityQueue: queue, priorityOf: priorityOf}
	}
}

func (q prioritizedQueue) Add(item reconcile.Request) {
	q.AddWithOpts(priorityqueue.AddOpts{}, item)
}

func (q prioritizedQueue) AddAfter(item reconcile.Request, after time.Duration) {
	q.AddWithOpts(priorityqueue.AddOpts{After: after}, item)
}

func (q prioritizedQueue) AddRateLimited(item reconcile.Request) {
	q.AddWithOpts(priorityqueue.AddOpts{RateLimited: true}, item)
}

func (q prioritizedQueue) AddWithOpts(o priorityqueue.AddOpts, items ...reconcile.Request) {
	if o.Priority != nil {
		q.PriorityQueue.AddWithOpts(o, items...)
		return
	}
	for _, item := range items {
		o.Priority = new(q.priorityOf(item))
		q.PriorityQueue.AddWithOpts(o, item)
	}
}

// endpointPriority is the priority of work for the endpoint named: priorityKnownEndpoint once the operator has
// reconciled it (its status has an observedGeneration), priorityNewEndpoint before, or when it cannot be read
// from the cache.
func endpointPriority(c client.Reader, endpoint types.NamespacedName) int {
	ctx, cancel := context.WithTimeout(context.Background(), priorityLookupTimeout)
	defer cancel()
	var te transferv1alpha1.TransferEndpoint
	if err := c.Get(ctx, endpoint, &te); err != nil || te.Status.ObservedGeneration == 0 {
		return priorityNewEndpoint
	}
	return priorityKnownEndpoint
}

// userPriority is the priority of work for the user named: its endpoint's (endpointPriority).
func userPriority(c client.Reader, user types.NamespacedName) int {
	ctx, cancel := context.WithTimeout(context.Background(), priorityLookupTimeout)
	defer cancel()
	var tu transferv1alpha1.TransferUser
	if err := c.Get(ctx, user, &tu); err != nil {
		return priorityNewEndpoint
	}
	return endpointPriority(c, types.NamespacedName{Namespace: tu.Namespace, Name: tu.Spec.EndpointRef.Name})
}
