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
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var (
	testLayout  = layout{state: "/var/lib/pier-node", run: "/run/pier-node"}
	testNetwork = network{nodeIP: netip.MustParseAddr("192.0.2.2")}
)

func TestContainerdConfigIsPrivate(t *testing.T) {
	c := containerdConfig(testLayout)
	for _, want := range []string{
		`root = "/var/lib/pier-node/containerd"`,
		`state = "/run/pier-node/containerd"`,
		`address = "/run/pier-node/containerd/containerd.sock"`,
		// Root lacks CAP_SYS_RESOURCE here: without it every sandbox fails.
		"restrict_oom_score_adj = true",
		`sandbox_image = "` + pauseImage + `"`,
		"SystemdCgroup = false",
		`conf_dir = "/var/lib/pier-node/cni/net.d"`,
	} {
		if !strings.Contains(c, want) {
			t.Errorf("containerd config lacks %s:\n%s", want, c)
		}
	}
	if strings.Contains(c, "/run/containerd") || strings.Contains(c, "/var/lib/containerd") {
		t.Errorf("containerd config names the machine's own containerd folders:\n%s", c)
	}
}

func TestCNIConfig(t *testing.T) {
	data, err := cniConfig(testLayout)
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		CNIVersion string `json:"cniVersion"`
		Name       string
		Plugins    []struct {
			Type, Bridge string
			IsGateway    bool
			IPMasq       bool
			HairpinMode  bool
			IPAM         struct {
				Type    string
				Ranges  [][]struct{ Subnet, Gateway string }
				DataDir string
			}
		}
	}
	if err := json.Unmarshal([]byte(data), &conf); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(conf.Plugins) != 1 {
		t.Fatalf("plugins %+v", conf.Plugins)
	}
	p := conf.Plugins[0]
	if p.Type != "bridge" || p.Bridge != bridgeName || !p.IsGateway || !p.HairpinMode {
		t.Errorf("bridge plugin %+v", p)
	}
	// Pods have no business outside this machine; masquerading would let them out under its address.
	if p.IPMasq {
		t.Error("ipMasq is on")
	}
	if p.IPAM.Type != "host-local" || p.IPAM.Ranges[0][0].Subnet != podCIDR || p.IPAM.Ranges[0][0].Gateway != "10.244.0.1" ||
		p.IPAM.DataDir != "/var/lib/pier-node/cni/ipam" {
		t.Errorf("ipam %+v", p.IPAM)
	}
}

func TestKubeletConfig(t *testing.T) {
	var c map[string]any
	if err := yaml.Unmarshal([]byte(kubeletConfig(testLayout, testNetwork)), &c); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"kind": "KubeletConfiguration", "cgroupDriver": "cgroupfs", "failCgroupV1": false, "failSwapOn": false,
		"resolvConf": "", "address": "192.0.2.2", "readOnlyPort": float64(0), "healthzBindAddress": "127.0.0.1",
		"containerRuntimeEndpoint":    "unix:///run/pier-node/containerd/containerd.sock",
		"imageGCHighThresholdPercent": float64(100),
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %#v, want %#v", k, c[k], v)
		}
	}
	if auth := c["authentication"].(map[string]any); auth["anonymous"].(map[string]any)["enabled"] != false {
		t.Errorf("anonymous access to the kubelet is on: %v", auth)
	}
	if _, ok := c["clusterDNS"]; ok {
		t.Error("clusterDNS is set, but there is no cluster DNS")
	}
}

func TestKubeProxyConfig(t *testing.T) {
	var c map[string]any
	if err := yaml.Unmarshal([]byte(kubeProxyConfig(testLayout, testNetwork)), &c); err != nil {
		t.Fatal(err)
	}
	if c["mode"] != "iptables" || c["clusterCIDR"] != podCIDR || c["hostnameOverride"] != nodeName {
		t.Errorf("kube-proxy config %v", c)
	}
	// NodePorts on the node's address only: 127.0.0.1 is make demo's, and route_localnet stays off.
	if got := c["nodePortAddresses"].([]any); len(got) != 1 || got[0] != "192.0.2.2/32" {
		t.Errorf("nodePortAddresses %v", got)
	}
	if c["iptables"].(map[string]any)["localhostNodePorts"] != false {
		t.Error("localhostNodePorts is not off")
	}
	ct := c["conntrack"].(map[string]any)
	if ct["maxPerCore"] != float64(0) || ct["min"] != float64(0) {
		t.Errorf("kube-proxy would change conntrack sysctls: %v", ct)
	}
}

func TestGuardRules(t *testing.T) {
	r := guardRules()
	for _, want := range []string{
		"*filter\n:PIER-NODE-OUTPUT - [0:0]\n:PIER-NODE-FORWARD - [0:0]\n",
		"-A PIER-NODE-OUTPUT -d 10.96.0.0/16 -p tcp -j REJECT --reject-with tcp-reset\n",
		"-A PIER-NODE-FORWARD -i pier0 ! -o pier0 -j REJECT",
		"*mangle\n:PIER-NODE-POSTROUTING - [0:0]\n-A PIER-NODE-POSTROUTING -d 10.244.0.0/24 ! -o pier0 -j DROP\nCOMMIT\n",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("guard rules lack %q:\n%s", want, r)
		}
	}
	// OUTPUT sees the interface routed before kube-proxy's DNAT: an interface match there rejects every Service
	// connection from this machine (the bug the first real-node run hit).
	for _, line := range strings.Split(r, "\n") {
		if strings.HasPrefix(line, "-A PIER-NODE-OUTPUT") && strings.Contains(line, " -o ") {
			t.Errorf("an OUTPUT guard rule matches the output interface: %s", line)
		}
	}
	if strings.Count(r, "COMMIT") != 2 {
		t.Errorf("want two tables:\n%s", r)
	}
	// Every guard chain is one down removes.
	for _, j := range guardJumps() {
		if !owned(j[2]) {
			t.Errorf("%s is not removed by down", j[2])
		}
	}
}

func TestComponentCommands(t *testing.T) {
	cmds := componentCommands(testLayout, testNetwork)
	order := make([]string, 0, len(cmds))
	for _, c := range cmds {
		order = append(order, c.name)
		joined := strings.Join(c.args, " ")
		// down and the leftover check find the node's processes by its folders in their command lines.
		if !strings.Contains(joined, testLayout.state+"/") && !strings.Contains(joined, testLayout.run+"/") {
			t.Errorf("%s's command line names none of the node's folders: %s", c.name, joined)
		}
	}
	want := []string{"containerd", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"}
	if !slices.Equal(order, want) {
		t.Errorf("start order %v, want %v", order, want)
	}
	api := strings.Join(cmds[2].args, " ")
	for _, want := range []string{"--bind-address=192.0.2.2", "--advertise-address=192.0.2.2",
		"--service-cluster-ip-range=" + serviceCIDR, "--service-node-port-range=30100-32767", "--authorization-mode=Node,RBAC"} {
		if !strings.Contains(api, want) {
			t.Errorf("kube-apiserver lacks %s: %s", want, api)
		}
	}
}

func TestNodePortRangeLeavesTheDemosPortsAlone(t *testing.T) {
	// make demo's pods bind the FTP passive ports 30000-30019 on this machine.
	if !strings.HasPrefix(nodePortRange, "30100-") {
		t.Errorf("node port range %s may overlap 30000-30019", nodePortRange)
	}
}
