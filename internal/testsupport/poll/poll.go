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

// Package poll waits in tests for something another goroutine or process does: a reconcile, a reload, a pod.
package poll

import (
	"testing"
	"time"
)

// interval is how often a check is retried: short, since what tests wait for usually takes milliseconds.
const interval = 50 * time.Millisecond

// Until retries check until it returns nil, and fails the test with check's last error once timeout has passed.
// The timeout is a generous upper bound for slow machines, not a measurement: tests never assert on durations.
func Until(t testing.TB, what string, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(interval)
	}
}
