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

package app

import (
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// TestSettleAfter: only the kubelet's ..data rename is read at once; anything that may still be written is read
// once the folder is quiet.
func TestSettleAfter(t *testing.T) {
	cases := []struct {
		name  string
		event fsnotify.Event
		want  time.Duration
	}{
		{"the kubelet's ..data swap", fsnotify.Event{Name: "/etc/pier/..data", Op: fsnotify.Create}, 0},
		{"the kubelet's new timestamped folder, still empty", fsnotify.Event{Name: "/etc/pier/..2026_12_03_17_10_00.1", Op: fsnotify.Create}, notifySettle},
		{"the kubelet's ..data_tmp link", fsnotify.Event{Name: "/etc/pier/..data_tmp", Op: fsnotify.Create}, notifySettle},
		{"the file created, maybe still empty", fsnotify.Event{Name: "/etc/pier/config.yaml", Op: fsnotify.Create}, notifySettle},
		{"the file written in place", fsnotify.Event{Name: "/etc/pier/config.yaml", Op: fsnotify.Write}, notifySettle},
		{"..data removed", fsnotify.Event{Name: "/etc/pier/..data", Op: fsnotify.Remove}, notifySettle},
	}
	for _, c := range cases {
		if got := settleAfter(c.event); got != c.want {
			t.Errorf("%s: settleAfter = %v, want %v", c.name, got, c.want)
		}
	}
}
