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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// eventAction is the action of every event the operator records: what it was doing when it noticed.
const eventAction = "Reconcile"

// recordEvent records an event on obj (reason: a constant of api/v1alpha1). A reconciler built without a
// recorder, as some tests build them, records none.
func recordEvent(rec events.EventRecorder, obj runtime.Object, eventType, reason, message string) {
	if rec != nil {
		rec.Eventf(obj, nil, eventType, reason, eventAction, "%s", message)
	}
}
