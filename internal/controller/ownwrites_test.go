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
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// TestOwnWritesPassOnlyOthersChanges: the events of the reconciler's own writes are held back, also when the event
// comes before the write's answer; every other change of the object passes, and so does a write of another kind
// of object of the same name.
func TestOwnWritesPassOnlyOthersChanges(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	w := newOwnWrites(scheme)
	passes := w.notOwn()
	secret := func(rv string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "files-config", ResourceVersion: rv}}
	}
	// The metadata watch's events: the Secret's metadata alone.
	metadata := func(rv string) *metav1.PartialObjectMetadata {
		m := &metav1.PartialObjectMetadata{ObjectMeta: secret(rv).ObjectMeta}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		return m
	}
	update := func(rv string) bool {
		return passes.Update(event.UpdateEvent{ObjectOld: metadata("1"), ObjectNew: metadata(rv)})
	}

	// The event arrives while the write waits for its answer; the pause gives it the time to be judged then,
	// which without the wait would let it pass.
	judged := make(chan bool)
	written := secret("")
	err := w.write(written, func() error {
		go func() { judged <- update("5") }()
		time.Sleep(100 * time.Millisecond)
		written.ResourceVersion = "5" // the API server's answer
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if <-judged {
		t.Error("the event of the reconciler's own write, come before its answer, passed")
	}
	if update("5") {
		t.Error("the event of the reconciler's own write passed")
	}
	if !update("6") {
		t.Error("someone else's change did not pass")
	}
	deployment := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "files-config", ResourceVersion: "5"}}
	if !passes.Update(event.UpdateEvent{ObjectOld: deployment, ObjectNew: deployment}) {
		t.Error("a change of another kind of object with the same name and version did not pass")
	}
	if !passes.Delete(event.DeleteEvent{Object: metadata("5")}) || !passes.Create(event.CreateEvent{Object: metadata("5")}) {
		t.Error("a deletion, and a creation after it, did not pass")
	}
}
