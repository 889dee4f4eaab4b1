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
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pier-dev/pier/api/v1alpha1"
)

func key(fp string) Key {
	return Key{Name: "k-" + fp, Type: "ssh-ed25519", Fingerprint: "SHA256:" + fp}
}

func served(fps ...string) []v1alpha1.HostKeyStatus {
	out := make([]v1alpha1.HostKeyStatus, 0, len(fps))
	for _, fp := range fps {
		out = append(out, v1alpha1.HostKeyStatus{Type: "ssh-ed25519", Fingerprint: "SHA256:" + fp})
	}
	return out
}

func keys(fps ...string) []Key {
	out := make([]Key, 0, len(fps))
	for _, fp := range fps {
		out = append(out, key(fp))
	}
	return out
}

func retiredFingerprints(list []v1alpha1.RetiredHostKey) []string {
	out := make([]string, 0, len(list))
	for _, r := range list {
		out = append(out, r.Fingerprint[len("SHA256:"):]+"/"+r.Reason)
	}
	return out
}

func TestCompare(t *testing.T) {
	cases := []struct {
		name           string
		served         []v1alpha1.HostKeyStatus
		now            []Key
		added, retired []string
	}{
		{name: "same keys", served: served("a", "b"), now: keys("b", "a")},
		{name: "nothing served yet", now: keys("a"), added: []string{"a"}},
		{name: "all replaced", served: served("a", "b"), now: keys("c", "d"), added: []string{"c", "d"}, retired: []string{"a", "b"}},
		{name: "one removed", served: served("a", "b"), now: keys("a"), retired: []string{"b"}},
		{name: "one added", served: served("a"), now: keys("a", "b"), added: []string{"b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(tc.served, tc.now)
			var added, retired []string
			for _, k := range c.Added {
				added = append(added, k.Fingerprint[len("SHA256:"):])
			}
			for _, k := range c.Retired {
				retired = append(retired, k.Fingerprint[len("SHA256:"):])
			}
			if !slices.Equal(added, tc.added) || !slices.Equal(retired, tc.retired) {
				t.Errorf("added %v retired %v, want %v %v", added, retired, tc.added, tc.retired)
			}
			if c.Empty() != (len(tc.added) == 0 && len(tc.retired) == 0) {
				t.Errorf("Empty() = %v", c.Empty())
			}
		})
	}
}

func TestRetire(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	earlier := metav1.NewTime(at.Add(-time.Hour))
	old := func(fp, reason string) v1alpha1.RetiredHostKey {
		return v1alpha1.RetiredHostKey{Type: "ssh-ed25519", Fingerprint: "SHA256:" + fp, RetiredAt: earlier, Reason: reason}
	}

	t.Run("the retired come first, with the time and reason", func(t *testing.T) {
		now := keys("c")
		got := Retire([]v1alpha1.RetiredHostKey{old("x", "SecretChanged")}, Compare(served("a", "b"), now), now, at, "Regenerated")
		if want := []string{"a/Regenerated", "b/Regenerated", "x/SecretChanged"}; !slices.Equal(retiredFingerprints(got), want) {
			t.Fatalf("got %v, want %v", retiredFingerprints(got), want)
		}
		if !got[0].RetiredAt.Equal(&at) || !got[2].RetiredAt.Equal(&earlier) {
			t.Errorf("retiredAt: %v, %v", got[0].RetiredAt, got[2].RetiredAt)
		}
	})
	t.Run("a key served again leaves the list", func(t *testing.T) {
		now := keys("x")
		got := Retire([]v1alpha1.RetiredHostKey{old("x", "Regenerated"), old("y", "Regenerated")}, Compare(served("a"), now), now, at, "SecretChanged")
		if want := []string{"a/SecretChanged", "y/Regenerated"}; !slices.Equal(retiredFingerprints(got), want) {
			t.Fatalf("got %v, want %v", retiredFingerprints(got), want)
		}
	})
	t.Run("a key retired again moves to the front", func(t *testing.T) {
		now := keys("b")
		got := Retire([]v1alpha1.RetiredHostKey{old("y", "Regenerated"), old("a", "Regenerated")}, Compare(served("a"), now), now, at, "SecretChanged")
		if want := []string{"a/SecretChanged", "y/Regenerated"}; !slices.Equal(retiredFingerprints(got), want) {
			t.Fatalf("got %v, want %v", retiredFingerprints(got), want)
		}
	})
	t.Run("at most MaxRetired, the most recent", func(t *testing.T) {
		previous := make([]v1alpha1.RetiredHostKey, 0, MaxRetired)
		for i := range MaxRetired {
			previous = append(previous, old(fmt.Sprintf("p%d", i), "Regenerated"))
		}
		now := keys("d", "e", "f")
		got := Retire(previous, Compare(served("a", "b", "c"), now), now, at, "Regenerated")
		if len(got) != MaxRetired || got[0].Fingerprint != "SHA256:a" || got[MaxRetired-1].Fingerprint != fmt.Sprintf("SHA256:p%d", MaxRetired-4) {
			t.Fatalf("got %v", retiredFingerprints(got))
		}
	})
}
