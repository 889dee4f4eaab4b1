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
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// The renderers below are pure: up writes their output only when it differs from the file on disk, because
// kube-proxy exits when its configuration file changes under it.

// containerdConfig is a private containerd: its own root, state and socket, so that it never meets a containerd
// of the machine. restrict_oom_score_adj because root here lacks CAP_SYS_RESOURCE, and runc then fails every
// sandbox with "can't get final child's PID from pipe: EOF" when it tries to lower oom_score_adj.
func containerdConfig(l layout) string {
	return fmt.Sprintf(`# Written by hack/local-cluster.sh (hack/nodecluster); do not edit.
version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %[6]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[7]q
    max_conf_num = 1
`, l.containerdRoot(), l.containerdState(), l.containerdSocket(), l.containerdSocket()+".ttrpc", pauseImage,
		l.runcRoot(), l.cniConfDir())
}

// cniConfig is the pod network: one bridge with host-local addresses. No masquerade: pods have no business
// outside this machine (the guard rules reject it), and kube-proxy masquerades what Services need itself.
// Hairpin mode lets a pod reach itself through its Service.
func cniConfig(l layout) (string, error) {
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       networkName,
		"plugins": []any{map[string]any{
			"type":        cniBridge,
			"bridge":      bridgeName,
			"isGateway":   true,
			"ipMasq":      false,
			"hairpinMode": true,
			"ipam": map[string]any{
				"type":    "host-local",
				"ranges":  []any{[]any{map[string]any{"subnet": podCIDR, "gateway": bridgeGateway().String()}}},
				"routes":  []any{map[string]any{"dst": "0.0.0.0/0"}},
				"dataDir": l.cniIPAM(),
			},
		}},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	return string(data) + "\n", err
}

// kubeletConfig is the kubelet's configuration for this machine: cgroup v1 with the cgroupfs driver (failCgroupV1
// false: kubelet 1.37 refuses cgroup v1 otherwise), no cluster DNS and an empty resolv.conf for pods (there is no
// CoreDNS, and the pods must not send queries to the machine's resolvers), no eviction or image garbage collection
// (the images were imported by hand and cannot be pulled again), Secret volumes refreshed every 20 s.
func kubeletConfig(l layout, n network) string {
	return fmt.Sprintf(`# Written by hack/local-cluster.sh (hack/nodecluster); do not edit.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %[1]s
port: %[2]d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[3]d
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: %[4]s
authorization:
  mode: Webhook
tlsCertFile: %[5]s
tlsPrivateKeyFile: %[6]s
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://%[7]s
podLogsDir: %[8]s
staticPodPath: ""
resolvConf: ""
clusterDomain: cluster.local
registerNode: true
# Mounted Secrets are refreshed on the pod's sync, every syncFrequency (1m by default): 20s keeps the tests of host
# keys and certificates served from volumes quick, and is still the kubelet's own mechanism.
syncFrequency: 20s
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  nodefs.available: "0%%"
  nodefs.inodesFree: "0%%"
  imagefs.available: "0%%"
rotateCertificates: false
serverTLSBootstrap: false
maxPods: 50
`, n.nodeIP, kubeletPort, kubeletHealthzPort, filepath.Join(l.pki(), "ca.crt"),
		filepath.Join(l.pki(), "kubelet-serving.crt"), filepath.Join(l.pki(), "kubelet-serving.key"),
		l.containerdSocket(), l.podLogs())
}

// kubeProxyConfig is kube-proxy in iptables mode. NodePorts only on the node's own address (no route_localnet,
// and 127.0.0.1 stays free for the local stand-in's pods); conntrack limits left as the machine has them, so
// there is no sysctl of its to restore.
func kubeProxyConfig(l layout, n network) string {
	return fmt.Sprintf(`# Written by hack/local-cluster.sh (hack/nodecluster); do not edit.
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: %[1]s
hostnameOverride: %[2]s
mode: iptables
clusterCIDR: %[3]s
detectLocalMode: ClusterCIDR
nodePortAddresses: [%[4]s/32]
healthzBindAddress: 127.0.0.1:%[5]d
metricsBindAddress: 127.0.0.1:%[6]d
iptables:
  localhostNodePorts: false
  masqueradeAll: false
  syncPeriod: 30s
  minSyncPeriod: 0s
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`, l.kubeconfigOf(compProxy), nodeName, podCIDR, n.nodeIP, proxyHealthzPort, proxyMetricsPort)
}

// guardRules is an iptables-restore --noflush script that keeps every packet of the cluster on this machine,
// whatever kube-proxy has or has not programmed yet: a packet for a Service address that no rule translated (a
// Service just deleted, a port it lacks) is rejected instead of following the default route; a packet for the pod
// network leaves only through the bridge; and pods reach nothing but this machine and each other. Declaring the
// chains flushes them, so applying it twice gives the same rules.
//
// The pod-network rule is in mangle's POSTROUTING, not filter's OUTPUT: OUTPUT sees the interface of the route
// taken before kube-proxy's DNAT (a Service address routes to the default interface), POSTROUTING the final one.
func guardRules() string {
	var b strings.Builder
	b.WriteString("*filter\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n:%s - [0:0]\n", guardOutput, guardForward)
	fmt.Fprintf(&b, "-A %s -d %s -p tcp -j REJECT --reject-with tcp-reset\n", guardOutput, serviceCIDR)
	fmt.Fprintf(&b, "-A %s -d %s -j REJECT --reject-with icmp-port-unreachable\n", guardOutput, serviceCIDR)
	fmt.Fprintf(&b, "-A %s -d %s -j REJECT --reject-with icmp-port-unreachable\n", guardForward, serviceCIDR)
	fmt.Fprintf(&b, "-A %s -i %s ! -o %s -j REJECT --reject-with icmp-net-unreachable\n", guardForward, bridgeName, bridgeName)
	b.WriteString("COMMIT\n*mangle\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n", guardPostrouting)
	fmt.Fprintf(&b, "-A %s -d %s ! -o %s -j DROP\n", guardPostrouting, podCIDR, bridgeName)
	b.WriteString("COMMIT\n")
	return b.String()
}

// guardJumps are the rules of the built-in chains that send packets through the guard chains, first:
// table, chain, guard chain.
func guardJumps() [][3]string {
	return [][3]string{{"filter", "OUTPUT", guardOutput}, {"filter", "FORWARD", guardForward},
		{"mangle", "POSTROUTING", guardPostrouting}}
}

// profilingOff turns off the components' /debug/pprof handlers, which nothing here needs.
const profilingOff = "--profiling=false"

// command is one process of the node.
type command struct {
	name string // also the binary's name
	args []string
}

// componentCommands are the node's processes in start order, with their arguments. binDir holds the binaries.
func componentCommands(l layout, n network) []command {
	pki := func(f string) string { return filepath.Join(l.pki(), f) }
	ip := n.nodeIP.String()
	etcdClient := "http://127.0.0.1:" + strconv.Itoa(etcdClientPort)
	etcdPeer := "http://127.0.0.1:" + strconv.Itoa(etcdPeerPort)
	return []command{
		{compContainerd, []string{"--config", filepath.Join(l.config(), "containerd.toml")}},
		{compEtcd, []string{
			"--name=" + nodeName, "--data-dir=" + l.etcdData(),
			"--listen-client-urls=" + etcdClient, "--advertise-client-urls=" + etcdClient,
			"--listen-peer-urls=" + etcdPeer, "--initial-advertise-peer-urls=" + etcdPeer,
			"--initial-cluster=" + nodeName + "=" + etcdPeer,
			// A test cluster: losing the last writes on a power cut does not matter, the disk load does.
			"--unsafe-no-fsync",
		}},
		{compAPIServer, []string{
			"--etcd-servers=" + etcdClient,
			// The node's own address, not 127.0.0.1: pods reach the API server through the kubernetes Service,
			// whose endpoint is this address.
			"--bind-address=" + ip, "--advertise-address=" + ip, "--secure-port=" + strconv.Itoa(apiServerPort),
			"--tls-cert-file=" + pki("apiserver.crt"), "--tls-private-key-file=" + pki("apiserver.key"),
			"--client-ca-file=" + pki("ca.crt"),
			"--kubelet-client-certificate=" + pki("apiserver-kubelet-client.crt"),
			"--kubelet-client-key=" + pki("apiserver-kubelet-client.key"),
			"--kubelet-certificate-authority=" + pki("ca.crt"),
			"--kubelet-preferred-address-types=InternalIP",
			"--service-account-key-file=" + pki("sa.pub"),
			"--service-account-signing-key-file=" + pki("sa.key"),
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-cluster-ip-range=" + serviceCIDR,
			// Not 30000-30019, the passive ports of make demo's pods on this machine.
			"--service-node-port-range=" + nodePortRange,
			"--authorization-mode=Node,RBAC",
			"--enable-admission-plugins=NodeRestriction",
			profilingOff,
			"--cert-dir=" + filepath.Join(l.run, "apiserver"),
		}},
		{compControllerManager, []string{
			"--kubeconfig=" + l.kubeconfigOf(compControllerManager),
			"--authentication-kubeconfig=" + l.kubeconfigOf(compControllerManager),
			"--authorization-kubeconfig=" + l.kubeconfigOf(compControllerManager),
			"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(controllerMgrPort),
			"--service-account-private-key-file=" + pki("sa.key"),
			"--root-ca-file=" + pki("ca.crt"),
			"--use-service-account-credentials=true",
			"--leader-elect=false",
			"--service-cluster-ip-range=" + serviceCIDR,
			profilingOff,
			"--cert-dir=" + filepath.Join(l.run, compControllerManager),
		}},
		{compScheduler, []string{
			"--kubeconfig=" + l.kubeconfigOf(compScheduler),
			"--authentication-kubeconfig=" + l.kubeconfigOf(compScheduler),
			"--authorization-kubeconfig=" + l.kubeconfigOf(compScheduler),
			"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(schedulerPort),
			"--leader-elect=false",
			profilingOff,
			"--cert-dir=" + filepath.Join(l.run, compScheduler),
		}},
		{compKubelet, []string{
			"--config=" + filepath.Join(l.config(), "kubelet.yaml"),
			"--kubeconfig=" + l.kubeconfigOf(compKubelet),
			"--hostname-override=" + nodeName, "--node-ip=" + ip,
			"--root-dir=" + l.kubeletRoot(),
			"--cert-dir=" + filepath.Join(l.run, "kubelet-pki"),
		}},
		{compProxy, []string{"--config=" + filepath.Join(l.config(), "kube-proxy.yaml")}},
	}
}

// sysctls are the kernel settings the node needs or that its components change (the kubelet sets the vm and
// kernel ones on start). up records them before it changes anything; down writes them back.
var sysctls = []string{
	"net/ipv4/ip_forward",
	"net/bridge/bridge-nf-call-iptables",
	"net/bridge/bridge-nf-call-ip6tables",
	"net/ipv4/conf/all/route_localnet",
	"vm/overcommit_memory",
	"vm/panic_on_oom",
	"kernel/panic",
	"kernel/panic_on_oops",
	"kernel/keys/root_maxkeys",
	"kernel/keys/root_maxbytes",
}

// sysctlsNeeded are the values up sets: forwarding between the bridge and this machine, and bridged packets
// through iptables, without which a pod cannot reach another through a Service.
var sysctlsNeeded = map[string]string{
	"net/ipv4/ip_forward":                "1",
	"net/bridge/bridge-nf-call-iptables": "1",
}
