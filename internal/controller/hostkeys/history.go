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

package hostkeys

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pier-dev/pier/api/v1alpha1"
)

// MaxRetired is how many retired keys an endpoint's status.previousHostKeys keeps: the last four sets of three
// generated keys, which is enough to explain a changed host key to the clients that will complain about it.
const MaxRetired = 12

// Change is how the keys of a host-key Secret differ from the keys an endpoint served (its status.hostKeys).
type Change struct {
	// Added are keys in the Secret that were not served.
	Added []Key
	// Retired are keys that were served and are not in the Secret.
	Retired []v1alpha1.HostKeyStatus
}

// Empty reports whether the Secret holds exactly the keys served.
func (c Change) Empty() bool { return len(c.Added) == 0 && len(c.Retired) == 0 }

// Compare says how the keys now in the Secret differ from those served. Keys are the same when their
// fingerprints are.
func Compare(served []v1alpha1.HostKeyStatus, now []Key) Change {
	var c Change
	for _, k := range now {
		if !slices.ContainsFunc(served, func(s v1alpha1.HostKeyStatus) bool { return s.Fingerprint == k.Fingerprint }) {
			c.Added = append(c.Added, k)
		}
	}
	for _, s := range served {
		if !slices.ContainsFunc(now, func(k Key) bool { return k.Fingerprint == s.Fingerprint }) {
			c.Retired = append(c.Retired, s)
		}
	}
	return c
}

// Retire returns the endpoint's list of retired keys after change: the keys it retires come first, marked with
// at and reason; a key served again (a Secret restored from an older backup) leaves the list, and a key retired
// again moves to the front instead of appearing twice. At most MaxRetired are kept, the most recent.
func Retire(previous []v1alpha1.RetiredHostKey, change Change, now []Key, at metav1.Time, reason string) []v1alpha1.RetiredHostKey {
	next := make([]v1alpha1.RetiredHostKey, 0, len(change.Retired)+len(previous))
	for _, k := range change.Retired {
		next = append(next, v1alpha1.RetiredHostKey{Type: k.Type, Fingerprint: k.Fingerprint, RetiredAt: at, Reason: reason})
	}
	for _, p := range previous {
		again := slices.ContainsFunc(change.Retired, func(k v1alpha1.HostKeyStatus) bool { return k.Fingerprint == p.Fingerprint })
		served := slices.ContainsFunc(now, func(k Key) bool { return k.Fingerprint == p.Fingerprint })
		if !again && !served {
			next = append(next, p)
		}
	}
	if len(next) > MaxRetired {
		next = next[:MaxRetired]
	}
	return next
}
