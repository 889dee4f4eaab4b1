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
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// TestPrioritizedQueue: items added without a priority get priorityOf's and come out highest first, in the order
// they came among equals; an item added with a priority keeps it (controller-runtime's low priority for the
// initial list, a retry's own).
func TestPrioritizedQueue(t *testing.T) {
	known := map[string]bool{"serving": true, "serving-too": true}
	q := newPrioritizedQueue(logr.Discard(), func(req reconcile.Request) int {
		if known[req.Name] {
			return priorityKnownEndpoint
		}
		return priorityNewEndpoint
	})("test", workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request])
	if !ok {
		t.Fatal("the queue is not a priority queue: controller-runtime's handlers would not set the initial list's low priority")
	}

	q.Add(request("ns", "new-1"))
	pq.AddWithOpts(priorityqueue.AddOpts{Priority: new(handler.LowPriority)}, request("ns", "serving-listed"))
	q.Add(request("ns", "serving"))
	q.Add(request("ns", "new-2"))
	pq.AddWithOpts(priorityqueue.AddOpts{}, request("ns", "serving-too"))

	want := []struct {
		name     string
		priority int
	}{
		{"serving", priorityKnownEndpoint},
		{"serving-too", priorityKnownEndpoint},
		{"new-1", priorityNewEndpoint},
		{"new-2", priorityNewEndpoint},
		{"serving-listed", handler.LowPriority},
	}
	for _, w := range want {
		item, priority, _ := pq.GetWithPriority()
		if item.Name != w.name || priority != w.priority {
			t.Errorf("got %s at priority %d, want %s at %d", item.Name, priority, w.name, w.priority)
		}
		pq.Done(item)
	}
}
