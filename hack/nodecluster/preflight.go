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
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// facts are what preflight looks at, gathered by gatherFacts, so that the refusals can be tested.
type facts struct {
	uid int
	// cgroupV1Memory / cgroupV2Controllers: the memory controller of a cgroup v1 hierarchy, or v2's controllers.
	cgroupV1Memory      bool
	cgroupV2Controllers string
	overlay             bool     // the kernel has overlayfs, containerd's snapshotter
	missingPrograms     []string // of requiredPrograms
	missingCNIPlugins   []string // of cniPlugins
	missingComponents   []string // Kubernetes binaries missing from the bin folder
	binDir              string
}

var (
	requiredPrograms = []string{compContainerd, "containerd-shim-runc-v2", "runc", "ctr", "iptables", "iptables-save",
		"iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"}
	cniPlugins = []string{cniBridge, "host-local", "loopback"}
	components = []string{compEtcd, compAPIServer, compControllerManager, compScheduler, compKubelet, compProxy}
)

func gatherFacts(binDir string) facts {
	f := facts{uid: os.Geteuid(), binDir: binDir}
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err == nil {
		f.cgroupV1Memory = true
	}
	if data, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		f.cgroupV2Controllers = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/proc/filesystems"); err == nil {
		f.overlay = strings.Contains(string(data), "\toverlay\n")
	}
	for _, p := range requiredPrograms {
		if _, err := exec.LookPath(p); err != nil {
			f.missingPrograms = append(f.missingPrograms, p)
		}
	}
	for _, p := range cniPlugins {
		if _, err := os.Stat(filepath.Join("/usr/lib/cni", p)); err != nil {
			f.missingCNIPlugins = append(f.missingCNIPlugins, p)
		}
	}
	for _, c := range components {
		if _, err := os.Stat(filepath.Join(binDir, c)); err != nil {
			f.missingComponents = append(f.missingComponents, c)
		}
	}
	return f
}

// refusals says, one line each, why a node cannot run here and what to do; none when it can.
func (f facts) refusals() []string {
	var out []string
	if f.uid != 0 {
		out = append(out, "not root: a node needs root for containerd, iptables, mounts and cgroups (run it with sudo)")
	}
	if !f.cgroupV1Memory && !strings.Contains(" "+f.cgroupV2Controllers+" ", " memory ") {
		out = append(out, "no cgroups with a memory controller under /sys/fs/cgroup: the kubelet cannot run pods "+
			"(a container without its own cgroups, or a kernel without CONFIG_MEMCG)")
	}
	if !f.overlay {
		out = append(out, "the kernel has no overlay file system (modprobe overlay): containerd's snapshotter needs it")
	}
	if len(f.missingPrograms) > 0 {
		out = append(out, fmt.Sprintf("missing %s: install containerd, runc and iptables (hack/install-node-packages.sh "+
			"does, from Debian's packages)", strings.Join(f.missingPrograms, ", ")))
	}
	if len(f.missingCNIPlugins) > 0 {
		out = append(out, fmt.Sprintf("missing CNI plugins %s in /usr/lib/cni: install containernetworking-plugins "+
			"(hack/install-node-packages.sh)", strings.Join(f.missingCNIPlugins, ", ")))
	}
	if len(f.missingComponents) > 0 {
		out = append(out, fmt.Sprintf("missing %s in %s: build them with hack/setup-envtest.sh --with-node",
			strings.Join(f.missingComponents, ", "), f.binDir))
	}
	return out
}

// nodeAddress is the address the node registers and the API server listens on: the given one, else the first
// global IPv4 address of an interface that is up and not loopback.
func nodeAddress(given string) (netip.Addr, error) {
	if given != "" {
		a, err := netip.ParseAddr(given)
		if err != nil || !a.Is4() {
			return netip.Addr{}, fmt.Errorf("--node-ip %q is not an IPv4 address", given)
		}
		return a, nil
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 || iface.Name == bridgeName {
			continue
		}
		addrs, _ := iface.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && p.Addr().IsGlobalUnicast() {
				return p.Addr(), nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("no IPv4 address on an interface that is up: pass --node-ip")
}
