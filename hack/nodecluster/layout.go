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
	"net/netip"
	"path/filepath"
)

// Fixed names and addresses of the node. The ports are fixed and below the ephemeral range (32768-60999), where
// envtest's control planes (make demo, make test) pick theirs, and apart from the ports every pier pod of the
// local stand-in binds on this machine (2222, 2121, 9990, 9080, 30000-30019): so the node and a demo can run side
// by side. The node's NodePorts are published on the node's own address only, never on 127.0.0.1.
const (
	nodeName    = "pier-node"
	bridgeName  = "pier0"
	networkName = "pier-node"
	// podCIDR is the node's pod network; the CNI bridge holds its first address.
	podCIDR = "10.244.0.0/24"
	// serviceCIDR is the Service range; its first address is the kubernetes Service.
	serviceCIDR = "10.96.0.0/16"
	// kubernetesServiceIP is the first address of serviceCIDR.
	kubernetesServiceIP = "10.96.0.1"
	// nodePortRange leaves out 30000-30019, the FTP passive ports make demo's pods bind on this machine.
	nodePortRange = "30100-32767"

	etcdClientPort     = 12379
	etcdPeerPort       = 12380
	apiServerPort      = 6443
	controllerMgrPort  = 10257
	schedulerPort      = 10259
	kubeletPort        = 10250
	kubeletHealthzPort = 10248
	proxyHealthzPort   = 10256
	proxyMetricsPort   = 10249

	// pauseImage is the sandbox image: a tiny static program of this repository (hack/nodecluster/pause),
	// imported into containerd by up, since no registry can be reached.
	pauseImage = "pier.dev/local/pause:1"
	// criNamespace is containerd's namespace for the images and containers of Kubernetes.
	criNamespace = "k8s.io"
)

// The node's processes, also their binaries' names.
const (
	compContainerd        = "containerd"
	compEtcd              = "etcd"
	compAPIServer         = "kube-apiserver"
	compControllerManager = "kube-controller-manager"
	compScheduler         = "kube-scheduler"
	compKubelet           = "kubelet"
	compProxy             = "kube-proxy"
)

// cniBridge is the CNI plugin of the pod network (and its binary's name).
const cniBridge = "bridge"

// The chains that keep the cluster's traffic on this machine (see guardRules).
const (
	guardOutput      = "PIER-NODE-OUTPUT"
	guardForward     = "PIER-NODE-FORWARD"
	guardPostrouting = "PIER-NODE-POSTROUTING"
)

// ownedChainPrefixes name every iptables chain the node creates: kube-proxy's and the kubelet's (KUBE-), the CNI
// plugins' (CNI-) and the guard (PIER-NODE-). down removes them all.
var ownedChainPrefixes = []string{"KUBE-", "CNI-", "PIER-NODE-"}

// layout is where the node keeps its files. state survives down (certificates, images, logs) so that the next up
// is quick; run is removed by down.
type layout struct {
	state string // e.g. /var/lib/pier-node
	run   string // e.g. /run/pier-node
}

func (l layout) pki() string            { return filepath.Join(l.state, "pki") }
func (l layout) logs() string           { return filepath.Join(l.state, "logs") }
func (l layout) config() string         { return filepath.Join(l.state, "config") }
func (l layout) etcdData() string       { return filepath.Join(l.state, "etcd") }
func (l layout) kubeletRoot() string    { return filepath.Join(l.state, "kubelet") }
func (l layout) podLogs() string        { return filepath.Join(l.state, "pod-logs") }
func (l layout) containerdRoot() string { return filepath.Join(l.state, "containerd") }
func (l layout) cniConfDir() string     { return filepath.Join(l.state, "cni", "net.d") }
func (l layout) cniIPAM() string        { return filepath.Join(l.state, "cni", "ipam") }
func (l layout) sysctlSnapshot() string { return filepath.Join(l.state, "sysctl-before-up.json") }
func (l layout) pids() string           { return filepath.Join(l.run, "pids") }
func (l layout) containerdState() string {
	return filepath.Join(l.run, "containerd")
}
func (l layout) containerdSocket() string {
	return filepath.Join(l.run, "containerd", "containerd.sock")
}
func (l layout) runcRoot() string { return filepath.Join(l.run, "runc") }

// Kubeconfig is the admin kubeconfig up writes.
func (l layout) Kubeconfig() string { return filepath.Join(l.state, "kubeconfig") }

func (l layout) kubeconfigOf(component string) string {
	return filepath.Join(l.config(), component+".kubeconfig")
}

// removedByDown are the folders down deletes: the cluster's data, so that the next up starts a fresh cluster.
// Certificates, containerd's images and the logs stay.
func (l layout) removedByDown() []string {
	return []string{l.etcdData(), l.kubeletRoot(), l.podLogs(), l.cniIPAM(), l.run}
}

// network is the node's addressing.
type network struct {
	nodeIP netip.Addr
}

func (n network) apiServerURL() string {
	return fmt.Sprintf("https://%s", netip.AddrPortFrom(n.nodeIP, apiServerPort))
}

// bridgeGateway is the bridge's own address in the pod network, the pods' default gateway.
func bridgeGateway() netip.Addr {
	return netip.MustParsePrefix(podCIDR).Addr().Next()
}
