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
	"strings"
	"testing"
)

func TestRefusals(t *testing.T) {
	ok := facts{uid: 0, cgroupV1Memory: true, overlay: true, binDir: "/bin/k8s"}
	if r := ok.refusals(); len(r) != 0 {
		t.Fatalf("a machine with everything is refused: %v", r)
	}
	v2 := ok
	v2.cgroupV1Memory, v2.cgroupV2Controllers = false, "cpuset cpu io memory pids"
	if r := v2.refusals(); len(r) != 0 {
		t.Errorf("cgroup v2 with memory is refused: %v", r)
	}
	tests := []struct {
		name   string
		change func(*facts)
		want   string
	}{
		{"not root", func(f *facts) { f.uid = 1000 }, "not root"},
		{"no cgroups", func(f *facts) { f.cgroupV1Memory = false; f.cgroupV2Controllers = "cpu io" }, "no cgroups with a memory controller"},
		{"no overlay", func(f *facts) { f.overlay = false }, "no overlay file system"},
		{"no containerd", func(f *facts) { f.missingPrograms = []string{"containerd", "runc"} },
			"missing containerd, runc: install containerd, runc and iptables (hack/install-node-packages.sh"},
		{"no CNI plugins", func(f *facts) { f.missingCNIPlugins = []string{"bridge"} }, "install containernetworking-plugins"},
		{"no kubelet", func(f *facts) { f.missingComponents = []string{"kubelet"} },
			"missing kubelet in /bin/k8s: build them with hack/setup-envtest.sh --with-node"},
	}
	for _, tt := range tests {
		f := ok
		tt.change(&f)
		r := f.refusals()
		if len(r) != 1 || !strings.Contains(r[0], tt.want) {
			t.Errorf("%s: refusals %q, want one containing %q", tt.name, r, tt.want)
		}
	}
}

func TestNodeAddressGiven(t *testing.T) {
	if a, err := nodeAddress("192.0.2.9"); err != nil || a.String() != "192.0.2.9" {
		t.Errorf("nodeAddress(192.0.2.9) = %v, %v", a, err)
	}
	for _, bad := range []string{"2001:db8::1", "node", "192.0.2"} {
		if _, err := nodeAddress(bad); err == nil {
			t.Errorf("nodeAddress(%q) accepted", bad)
		}
	}
}
