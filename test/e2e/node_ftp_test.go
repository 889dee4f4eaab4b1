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

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/textproto"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

const (
	ftpNamespace = "e2e-node-ftp"
	ftpEndpoint  = "ftp"
	// The passive ports, also the node ports of a NodePort Service: inside the node's NodePort range, and apart
	// from make demo's 30000-30019.
	ftpPassiveStart, ftpPassiveEnd = 30200, 30204
)

// TestNodeFTPPassiveAddresses drives FTP through each kind of Service as a client outside the pod sees it: the
// PASV reply must carry an address and port this machine reaches, EPSV a port in the range, and curl must move a
// file both ways with each (PASV with the announced address, not curl's default of the control connection's), which
// also proves that the data connection passed the server's "same client address" check after kube-proxy. One
// endpoint, its Service changed from kind to kind: ClusterIP; NodePort with the node's address, with
// externalTrafficPolicy Local and Cluster; and LoadBalancer with an address the test writes into the Service's
// status, as a cloud's controller would, with both policies.
func TestNodeFTPPassiveAddresses(t *testing.T) {
	n := requireNode(t)
	realclient.Require(t, "curl")
	ctx := context.Background()
	c := target.Client()
	createRestrictedNamespace(t, ftpNamespace)
	te := &transferv1alpha1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ftpNamespace, Name: ftpEndpoint},
		Spec: transferv1alpha1.TransferEndpointSpec{
			FTP: &transferv1alpha1.FTPSpec{
				TLS:     transferv1alpha1.FTPTLSSpec{Mode: transferv1alpha1.FTPTLSDisabled},
				Passive: transferv1alpha1.PassiveSpec{PortRange: transferv1alpha1.PortRange{Start: ftpPassiveStart, End: ftpPassiveEnd}},
			},
		},
	}
	create(t, te)
	erin := withPassword(t, newUser(ftpNamespace, ftpEndpoint, "erin"), "erin's password")
	create(t, erin)
	waitReady(t, te)
	waitReady(t, erin)
	svcName := render.NamesFor(te).Service
	node := n.nodeIP.String()

	cases := []struct {
		name, spec string
		// control is where the client connects; announced, the address PASV must carry.
		control   func(svc *corev1.Service) (string, int)
		announced func(svc *corev1.Service) string
		ingress   bool // the test writes the load balancer's address
	}{
		{
			name: "ClusterIP: the pod's address, reached from this machine through the pod network",
			spec: `{"spec":{"service":{"type":"ClusterIP","externalTrafficPolicy":null},"ftp":{"passive":{"address":null}}}}`,
			control: func(svc *corev1.Service) (string, int) {
				return svc.Spec.ClusterIP, int(ftpServicePort(svc).Port)
			},
			announced: func(*corev1.Service) string { return onePodIP(t) },
		},
		{
			name: "NodePort, externalTrafficPolicy Local: the node's address and the passive node ports",
			spec: fmt.Sprintf(`{"spec":{"service":{"type":"NodePort","externalTrafficPolicy":"Local"},"ftp":{"passive":{"address":%q}}}}`, node),
			control: func(svc *corev1.Service) (string, int) {
				return node, int(ftpServicePort(svc).NodePort)
			},
			announced: func(*corev1.Service) string { return node },
		},
		{
			name: "NodePort, externalTrafficPolicy Cluster",
			spec: fmt.Sprintf(`{"spec":{"service":{"type":"NodePort","externalTrafficPolicy":"Cluster"},"ftp":{"passive":{"address":%q}}}}`, node),
			control: func(svc *corev1.Service) (string, int) {
				return node, int(ftpServicePort(svc).NodePort)
			},
			announced: func(*corev1.Service) string { return node },
		},
		{
			name: "LoadBalancer, externalTrafficPolicy Local: the address in the Service's status",
			spec: `{"spec":{"service":{"type":"LoadBalancer","externalTrafficPolicy":"Local"},"ftp":{"passive":{"address":null}}}}`,
			control: func(svc *corev1.Service) (string, int) {
				return node, int(ftpServicePort(svc).Port)
			},
			announced: func(*corev1.Service) string { return node },
			ingress:   true,
		},
		{
			name: "LoadBalancer, externalTrafficPolicy Cluster",
			spec: `{"spec":{"service":{"type":"LoadBalancer","externalTrafficPolicy":"Cluster"},"ftp":{"passive":{"address":null}}}}`,
			control: func(svc *corev1.Service) (string, int) {
				return node, int(ftpServicePort(svc).Port)
			},
			announced: func(*corev1.Service) string { return node },
			ingress:   true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Patch(ctx, te, client.RawPatch(types.MergePatchType, []byte(tc.spec))); err != nil {
				t.Fatal(err)
			}
			svc := &corev1.Service{}
			eventually(t, "the Service follows the endpoint", func() error {
				if err := c.Get(ctx, client.ObjectKey{Namespace: ftpNamespace, Name: svcName}, svc); err != nil {
					return err
				}
				want := corev1.ServiceType(jsonString(tc.spec, "type"))
				if svc.Spec.Type != want {
					return fmt.Errorf("type %s, want %s", svc.Spec.Type, want)
				}
				if p := jsonString(tc.spec, "externalTrafficPolicy"); p != "" && string(svc.Spec.ExternalTrafficPolicy) != p {
					return fmt.Errorf("externalTrafficPolicy %s, want %s", svc.Spec.ExternalTrafficPolicy, p)
				}
				return nil
			})
			if tc.ingress {
				// No cloud here: write the load balancer's address as its controller would, this machine's own.
				svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: node}}
				if err := c.Status().Update(ctx, svc); err != nil {
					t.Fatal(err)
				}
			}
			host, port := tc.control(svc)
			want := tc.announced(svc)
			checkLocalAddress(t, n, host)
			var pasv, epsv int
			eventually(t, "PASV announces "+want, func() error {
				addr, p, e, err := passiveReplies(host, port, "erin", "erin's password")
				if err != nil {
					return err
				}
				if addr != want {
					return fmt.Errorf("PASV announces %s, want %s", addr, want)
				}
				pasv, epsv = p, e
				return nil
			})
			for _, p := range []int{pasv, epsv} {
				if p < ftpPassiveStart || p > ftpPassiveEnd {
					t.Errorf("passive port %d is outside %d-%d", p, ftpPassiveStart, ftpPassiveEnd)
				}
			}
			checkLocalAddress(t, n, want)
			ftpRoundTrips(t, host, port)
		})
	}
}

// ftpServicePort is the Service's FTP control port.
func ftpServicePort(svc *corev1.Service) corev1.ServicePort {
	for _, p := range svc.Spec.Ports {
		if p.Name == render.PortNameFTP {
			return p
		}
	}
	return corev1.ServicePort{}
}

// jsonString finds "key":"value" in a patch, enough for the cases above.
func jsonString(patch, key string) string {
	m := regexp.MustCompile(`"` + key + `":"([^"]*)"`).FindStringSubmatch(patch)
	if m == nil {
		return ""
	}
	return m[1]
}

// onePodIP is the address of the FTP endpoint's one pod.
func onePodIP(t *testing.T) string {
	pods, err := endpointPods(context.Background(), ftpNamespace, ftpEndpoint)
	if err != nil || len(pods) != 1 {
		t.Fatalf("want one ready pod, got %d (%v)", len(pods), err)
	}
	return pods[0].Status.PodIP
}

// checkLocalAddress fails the test unless addr is one the tests may send to: this machine's (the node's address,
// loopback), a Service's cluster IP, which kube-proxy translates here, or a pod's, in the network the node's CNI
// made. An address the server announced is checked before any client is sent to it.
func checkLocalAddress(t *testing.T, n *nodeTarget, addr string) {
	t.Helper()
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		t.Fatalf("%q is not an IP address", addr)
	}
	if ip == n.nodeIP || ip.IsLoopback() {
		return
	}
	ctx := context.Background()
	var svcs corev1.ServiceList
	var pods corev1.PodList
	if err := target.Client().List(ctx, &svcs); err != nil {
		t.Fatal(err)
	}
	if err := target.Client().List(ctx, &pods); err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs.Items {
		if s.Spec.ClusterIP == addr {
			return
		}
	}
	for _, p := range pods.Items {
		if p.Status.PodIP == addr && !p.Spec.HostNetwork {
			return
		}
	}
	t.Fatalf("%s is neither this machine's, a Service's nor a pod's: the test sends nothing there", addr)
}

var (
	pasvReply = regexp.MustCompile(`\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`)
	epsvReply = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)
)

// passiveReplies logs in on a plain FTP control connection and returns what PASV (address and port) and EPSV
// (port) answer, as a client sees them.
func passiveReplies(host string, port int, user, password string) (string, int, int, error) {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 10*time.Second)
	if err != nil {
		return "", 0, 0, err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	tp := textproto.NewConn(conn)
	step := func(cmd string, code int) (string, error) {
		if cmd != "" {
			if err := tp.PrintfLine("%s", cmd); err != nil {
				return "", err
			}
		}
		_, msg, err := tp.ReadResponse(code)
		if err != nil {
			return "", fmt.Errorf("%q: %w", cmd, err)
		}
		return msg, nil
	}
	if _, err := step("", 220); err != nil {
		return "", 0, 0, err
	}
	if _, err := step("USER "+user, 331); err != nil {
		return "", 0, 0, err
	}
	if _, err := step("PASS "+password, 230); err != nil {
		return "", 0, 0, err
	}
	msg, err := step("PASV", 227)
	if err != nil {
		return "", 0, 0, err
	}
	m := pasvReply.FindStringSubmatch(msg)
	if m == nil {
		return "", 0, 0, fmt.Errorf("PASV reply %q has no address", msg)
	}
	p1, _ := strconv.Atoi(m[5])
	p2, _ := strconv.Atoi(m[6])
	addr := m[1] + "." + m[2] + "." + m[3] + "." + m[4]
	// Close the listener PASV opened, or the next command's port would be taken.
	msg, err = step("EPSV", 229)
	if err != nil {
		return "", 0, 0, err
	}
	e := epsvReply.FindStringSubmatch(msg)
	if e == nil {
		return "", 0, 0, fmt.Errorf("EPSV reply %q has no port", msg)
	}
	ep, _ := strconv.Atoi(e[1])
	_, _ = step("QUIT", 221)
	return addr, p1*256 + p2, ep, nil
}

// ftpRoundTrips uploads and downloads a file with curl through host:port, once in PASV using the address the
// server announces, once in EPSV.
func ftpRoundTrips(t *testing.T, host string, port int) {
	t.Helper()
	work := t.TempDir()
	base := fmt.Sprintf("ftp://%s/", net.JoinHostPort(host, strconv.Itoa(port)))
	common := []string{"--silent", "--show-error", "--fail", "--max-time", "30", "--user", "erin:erin's password"}
	modes := map[string][]string{
		"pasv": {"--disable-epsv", "--no-ftp-skip-pasv-ip"},
		"epsv": {"--ftp-pasv"},
	}
	for mode, flags := range modes {
		content := payload.Random(200<<10 + len(mode))
		local := writeFile(t, work, mode+".bin", content)
		args := append(append(append([]string{}, common...), flags...), "-T", local, base+mode+".bin")
		command(t, "curl", args...)
		back := filepath.Join(work, mode+"-back.bin")
		args = append(append(append([]string{}, common...), flags...), "-o", back, base+mode+".bin")
		command(t, "curl", args...)
		if !bytes.Equal(readFile(t, back), content) {
			t.Fatalf("%s: the file read back differs", mode)
		}
	}
}
