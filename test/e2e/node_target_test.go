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
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/localcluster"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/pki"
	"github.com/pier-dev/pier/internal/testsupport/helmchart"
)

// The node target (PIER_E2E_TARGET=node) is a real single-node cluster made by hack/local-cluster.sh, with pier
// installed from dist/install.yaml (PIER_E2E_INSTALL=manifest) or the Helm chart (helm): the manager runs as a pod
// of its own image with the install's RBAC and Pod Security, and clients on this machine reach the endpoints
// through their Services, as kube-proxy translates them here. The only stand-in is cert-manager's: its images
// cannot be pulled here, so its CRDs are installed and the suite writes each Certificate's Secret from a local CA.

// managerNamespace is where both install paths put the manager.
const managerNamespace = "pier-system"

// suiteNamespaces are the namespaces the suite's tests create; removed before and after a run.
var suiteNamespaces = []string{namespace, nodeNamespace, ftpNamespace, samplesNamespace}

// nodeTarget is a node of hack/local-cluster.sh with pier installed.
type nodeTarget struct {
	client     client.Client
	clientset  *kubernetes.Clientset
	ca         *pki.CA
	issuer     *localcluster.Issuer
	nodeIP     netip.Addr
	kubeconfig string
	kubectl    string
	helm       string
	install    string // manifest or helm
	// containerd is the node's containerd socket, for what only the runtime knows (the container's OCI spec).
	containerd string
}

func (n *nodeTarget) Client() client.Client { return n.client }
func (n *nodeTarget) CAFile() string        { return n.ca.CertFile }

// Endpoint is the endpoint's Service, once kube-proxy routes it: an endpoint is Ready when its pods are, which
// can be a moment before kube-proxy has written the rules of a new Service.
func (n *nodeTarget) Endpoint(ctx context.Context, namespace, name string) (*localcluster.Endpoint, error) {
	ep, err := localcluster.ServiceEndpoint(ctx, n.client, namespace, name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, port := range []int{ep.SFTPPort, ep.FTPPort, ep.FTPSPort} {
		if port == 0 {
			continue
		}
		addr := net.JoinHostPort(ep.Host, strconv.Itoa(port))
		for {
			conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err == nil {
				_ = conn.Close()
				break
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("the Service of %s/%s does not answer on %s: %w", namespace, name, addr, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return ep, nil
}

func (n *nodeTarget) RotateCertificate(ctx context.Context, namespace, certificate string) error {
	return n.issuer.Rotate(ctx, namespace, certificate)
}

// runNode runs the suite against the node: it installs pier, runs the tests, checks the manager's log for
// refused requests, and uninstalls.
func runNode(m interface{ Run() int }, dir string, log *slog.Logger) (int, error) {
	n := &nodeTarget{
		kubeconfig: os.Getenv("KUBECONFIG"),
		kubectl:    envOr("PIER_KUBECTL", "kubectl"),
		helm:       envOr("HELM", "helm"),
		install:    envOr("PIER_E2E_INSTALL", "manifest"),
		containerd: envOr("PIER_NODE_CONTAINERD", "/run/pier-node/containerd/containerd.sock"),
	}
	if n.kubeconfig == "" {
		return 0, errors.New("PIER_E2E_TARGET=node needs KUBECONFIG: run `make test-e2e-node`, or " +
			"`export KUBECONFIG=$(hack/local-cluster.sh up)` first")
	}
	if n.install != "manifest" && n.install != "helm" {
		return 0, fmt.Errorf("PIER_E2E_INSTALL=%q: want manifest or helm", n.install)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", n.kubeconfig)
	if err != nil {
		return 0, fmt.Errorf("reading KUBECONFIG %s: %w", n.kubeconfig, err)
	}
	scheme := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{clientgoscheme.AddToScheme, transferv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return 0, err
		}
	}
	if n.client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return 0, err
	}
	if n.clientset, err = kubernetes.NewForConfig(cfg); err != nil {
		return 0, err
	}
	ctx := context.Background()
	if n.nodeIP, err = nodeAddress(ctx, n.client); err != nil {
		return 0, err
	}
	if n.ca, err = pki.OpenLocalCA(filepath.Join(dir, "ca")); err != nil {
		return 0, err
	}

	start := time.Now()
	if err := n.uninstall(ctx); err != nil {
		return 0, fmt.Errorf("removing what an earlier run left: %w", err)
	}
	if err := n.installPier(ctx); err != nil {
		return 0, err
	}
	fmt.Fprintf(os.Stderr, "e2e: pier installed on the node with %s in %s\n", n.install, time.Since(start).Round(time.Millisecond))

	n.issuer = localcluster.NewIssuer(n.client, n.ca, log, n.certificateAddresses)
	issuerCtx, stopIssuer := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = n.issuer.Run(issuerCtx) }()

	target = n
	code := m.Run()
	stopIssuer()
	<-done

	refused, err := n.refusedRequests(ctx)
	if err != nil {
		return code, err
	}
	if refused != "" {
		fmt.Fprintf(os.Stderr, "e2e: the manager was refused requests with the install's RBAC:\n%s\n", refused)
		code = 1
	}
	if code == 0 { // on failure, leave everything for a look; the next run removes it first
		if err := n.uninstall(ctx); err != nil {
			return code, fmt.Errorf("uninstalling: %w", err)
		}
	}
	return code, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// nodeAddress is the node's InternalIP: where its NodePorts are, the one address of this machine the tests use.
func nodeAddress(ctx context.Context, c client.Client) (netip.Addr, error) {
	var nodes corev1.NodeList
	if err := c.List(ctx, &nodes); err != nil {
		return netip.Addr{}, fmt.Errorf("listing the nodes: %w", err)
	}
	if len(nodes.Items) != 1 {
		return netip.Addr{}, fmt.Errorf("the node target wants exactly one node, the cluster has %d", len(nodes.Items))
	}
	for _, a := range nodes.Items[0].Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return netip.ParseAddr(a.Address)
		}
	}
	return netip.Addr{}, fmt.Errorf("node %s has no InternalIP", nodes.Items[0].Name)
}

// certificateAddresses are the addresses the stand-in's certificates cover besides their DNS names: the endpoint
// Service's cluster IP and the node's address, which the clients use. Until the Service has its address, the
// Certificate waits.
func (n *nodeTarget) certificateAddresses(ctx context.Context, cert *unstructured.Unstructured) ([]string, error) {
	for _, ref := range cert.GetOwnerReferences() {
		if ref.Kind != "TransferEndpoint" {
			continue
		}
		te := &transferv1alpha1.TransferEndpoint{}
		if err := n.client.Get(ctx, types.NamespacedName{Namespace: cert.GetNamespace(), Name: ref.Name}, te); err != nil {
			return nil, err
		}
		svc := &corev1.Service{}
		key := types.NamespacedName{Namespace: cert.GetNamespace(), Name: render.NamesFor(te).Service}
		if err := n.client.Get(ctx, key, svc); err != nil {
			return nil, err
		}
		if svc.Spec.ClusterIP == "" {
			return nil, fmt.Errorf("the Service %s has no cluster IP yet", svc.Name)
		}
		return []string{svc.Spec.ClusterIP, n.nodeIP.String()}, nil
	}
	return []string{n.nodeIP.String()}, nil
}

// run runs a program of the install (kubectl, helm) against the node.
func (n *nodeTarget) run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+n.kubeconfig)
	cmd.Dir = controlplane.RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// installPier installs cert-manager's CRDs and pier, and waits for the manager to be available.
func (n *nodeTarget) installPier(ctx context.Context) error {
	crds, err := controlplane.CertManagerCRDDir()
	if err != nil {
		return err
	}
	if _, err := n.run(ctx, n.kubectl, "apply", "--server-side", "-f", crds); err != nil {
		return err
	}
	switch n.install {
	case "manifest":
		if _, err := n.run(ctx, n.kubectl, "apply", "--server-side", "-f", "dist/install.yaml"); err != nil {
			return err
		}
	case "helm":
		// The chart does not make its namespace; give it the labels dist/install.yaml gives pier-system.
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: managerNamespace, Labels: restrictedLabels()}}
		if err := n.client.Create(ctx, ns); err != nil {
			return fmt.Errorf("creating namespace %s: %w", managerNamespace, err)
		}
		// The node's API server, built from source, may report no version (internal/testsupport/helmchart).
		tmp, err := os.MkdirTemp("", "pier-e2e-chart-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		chart, err := helmchart.ForServer(n.clientset.Discovery(), filepath.Join(controlplane.RepoRoot(), "charts", "pier"), tmp)
		if err != nil {
			return err
		}
		if _, err := n.run(ctx, n.helm, "install", "pier", chart, "--namespace", managerNamespace); err != nil {
			return err
		}
	}
	_, err = n.run(ctx, n.kubectl, "wait", "--namespace", managerNamespace, "--for=condition=Available",
		"deployment", "--all", "--timeout=180s")
	return err
}

// uninstall removes the suite's namespaces, then pier as either install path put it, and waits until they are gone.
func (n *nodeTarget) uninstall(ctx context.Context) error {
	for _, ns := range suiteNamespaces {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if err := n.client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if err := n.waitGone(ctx, suiteNamespaces...); err != nil {
		return err
	}
	for _, name := range append([]string{localPV}, samplesPVs...) {
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := n.client.Delete(ctx, pv); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if out, err := n.run(ctx, n.helm, "status", "pier", "--namespace", managerNamespace); err == nil {
		if _, err := n.run(ctx, n.helm, "uninstall", "pier", "--namespace", managerNamespace, "--wait"); err != nil {
			return err
		}
	} else if !strings.Contains(out, "not found") {
		return err
	}
	if _, err := n.run(ctx, n.kubectl, "delete", "--ignore-not-found", "--wait", "-f", "dist/install.yaml"); err != nil {
		return err
	}
	// The chart's pier-system is not in dist/install.yaml's hands when the chart made it.
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: managerNamespace}}
	if err := n.client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return n.waitGone(ctx, managerNamespace)
}

func (n *nodeTarget) waitGone(ctx context.Context, namespaces ...string) error {
	deadline := time.Now().Add(3 * time.Minute)
	for _, ns := range namespaces {
		for {
			err := n.client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				if err != nil {
					return fmt.Errorf("namespace %s: %w", ns, err)
				}
				return fmt.Errorf("namespace %s is still there after 3 minutes", ns)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	return nil
}

// refusedRequests is every line of the manager pods' logs where the API server refused it something: the test
// of the install's RBAC, which must let the manager do all it needs and no more.
func (n *nodeTarget) refusedRequests(ctx context.Context) (string, error) {
	pods, err := n.clientset.CoreV1().Pods(managerNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	if len(pods.Items) == 0 {
		return "", errors.New("no manager pod in " + managerNamespace)
	}
	var refused []string
	for _, p := range pods.Items {
		data, err := n.clientset.CoreV1().Pods(managerNamespace).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			return "", fmt.Errorf("reading the log of %s: %w", p.Name, err)
		}
		for line := range strings.Lines(string(data)) {
			if strings.Contains(strings.ToLower(line), "forbidden") {
				refused = append(refused, strings.TrimSpace(line))
			}
		}
	}
	return strings.Join(refused, "\n"), nil
}

// restrictedLabels enforce the restricted Pod Security Standard on a namespace.
// createRestrictedNamespace creates the namespace name, enforcing the restricted Pod Security Standard, which
// pier's pods must meet.
func createRestrictedNamespace(t *testing.T, name string) {
	t.Helper()
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: restrictedLabels()}})
}

func restrictedLabels() map[string]string {
	return map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/warn":            "restricted",
	}
}
