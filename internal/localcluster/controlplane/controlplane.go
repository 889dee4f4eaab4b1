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

// Package controlplane starts a real kube-apiserver and etcd (controller-runtime's envtest) with pier's CRDs
// installed, and optionally kube-controller-manager: the control plane of make demo (internal/localcluster) and of
// every test that must talk to an API server rather than a fake client.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// Env is a running control plane with pier's CRDs installed.
type Env struct {
	env    *envtest.Environment
	Config *rest.Config
	Scheme *k8sruntime.Scheme
	Client client.Client
	CRDs   []*apiextensionsv1.CustomResourceDefinition

	kcm    *exec.Cmd
	kcmDir string
}

// RepoRoot is the repository's top folder, found from this file's location so tests work from any package.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	// The nearest folder above this file with a go.mod: true wherever this package is moved in the tree.
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("controlplane: no go.mod above " + file)
		}
		dir = parent
	}
}

// Options says what to install besides pier's own CRDs.
type Options struct {
	// CertManagerCRDs installs cert-manager's CRDs (Certificate, Issuer, ...), for code that creates Certificates.
	CertManagerCRDs bool
	// KubeControllers, when not empty, runs kube-controller-manager with these controllers, such as
	// "garbage-collector-controller" for tests of what owner references delete. Its binary must be in
	// KUBEBUILDER_ASSETS (hack/setup-envtest.sh --with-controller-manager).
	KubeControllers []string
	// DualStackServices gives the API server an IPv4 and an IPv6 Service range (DualStackServiceRanges), so that
	// Services may be IPv6 or dual-stack. Services that ask for nothing stay single-stack IPv4.
	DualStackServices bool
	// BinaryDir, when set, holds the etcd, kube-apiserver and kube-controller-manager to run instead of those in
	// KUBEBUILDER_ASSETS (internal/localcluster puts wrappers there that make them die with their parent).
	BinaryDir string
	// WorkDir, when set, is where etcd's data, the API server's certificates and kube-controller-manager's
	// kubeconfig go instead of fresh temporary folders; the caller creates and removes it. A caller that may be
	// killed uses it so that what a killed run left is found and removed by the next one.
	WorkDir string
	// CRDDir, when set, holds the pier CRDs to install instead of this tree's config/crd/bases: the benchmark
	// runs a manager built from another revision against that revision's own CRDs.
	CRDDir string
	// APIServerFlags are extra kube-apiserver flags, by name without the dashes (such as "audit-log-path"); a
	// flag envtest sets already is replaced.
	APIServerFlags map[string]string
}

// DualStackServiceRanges are the Service ranges of a DualStackServices API server: IPv4 (the primary family, as
// on most clusters) and a random unique-local IPv6 /112. Nothing routes to them; the API server only hands their
// addresses out.
const DualStackServiceRanges = "10.0.0.0/16,fd9e:7069:6572:5e41::/112"

// Start runs kube-apiserver and etcd from KUBEBUILDER_ASSETS and installs the CRDs under config/crd/bases.
func Start() (*Env, error) { return StartWith(Options{}) }

// StartWith is Start with extra CRDs.
func StartWith(opts Options) (*Env, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run `make test`, or " +
			"`export KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh)` before `go test`")
	}
	scheme := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, transferv1alpha1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("building the scheme: %w", err)
		}
	}
	crdDirs := []string{filepath.Join(RepoRoot(), "config", "crd", "bases")}
	if opts.CRDDir != "" {
		crdDirs = []string{opts.CRDDir}
	}
	if opts.CertManagerCRDs {
		dir, err := CertManagerCRDDir()
		if err != nil {
			return nil, err
		}
		crdDirs = append(crdDirs, dir)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	if opts.BinaryDir != "" {
		env.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(opts.BinaryDir, "etcd")}
		env.ControlPlane.GetAPIServer().Path = filepath.Join(opts.BinaryDir, "kube-apiserver")
	}
	if opts.WorkDir != "" {
		if env.ControlPlane.Etcd == nil {
			env.ControlPlane.Etcd = &envtest.Etcd{}
		}
		env.ControlPlane.Etcd.DataDir = filepath.Join(opts.WorkDir, "etcd")
		env.ControlPlane.GetAPIServer().CertDir = filepath.Join(opts.WorkDir, "kube-apiserver")
		for _, dir := range []string{env.ControlPlane.Etcd.DataDir, env.ControlPlane.GetAPIServer().CertDir} {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("creating the control plane's folder: %w", err)
			}
		}
	}
	if opts.DualStackServices {
		env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", DualStackServiceRanges)
	}
	for name, value := range opts.APIServerFlags {
		env.ControlPlane.GetAPIServer().Configure().Set(name, value)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest from KUBEBUILDER_ASSETS=%s: %w", os.Getenv("KUBEBUILDER_ASSETS"), err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("creating a client: %w", err)
	}
	e := &Env{env: env, Config: cfg, Scheme: scheme, Client: c, CRDs: env.CRDs}
	if len(opts.KubeControllers) > 0 {
		if err := e.startControllerManager(opts); err != nil {
			_ = env.Stop()
			return nil, err
		}
	}
	return e, nil
}

// RunTests is the whole TestMain of a package whose tests share one control plane: it starts one with opts,
// stores it in *env, runs the tests, stops it and exits with the tests' result.
func RunTests(m *testing.M, opts Options, env **Env) {
	e, err := StartWith(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}

// Stop shuts the control plane down.
func (e *Env) Stop() error {
	if e.kcm != nil {
		_ = e.kcm.Process.Kill()
		_ = e.kcm.Wait()
		_ = os.RemoveAll(e.kcmDir)
	}
	return e.env.Stop()
}

// AddUser adds a user to the API server's authentication (a client certificate) and returns it, for a
// kubeconfig of that identity.
func (e *Env) AddUser(user envtest.User) (*envtest.AuthenticatedUser, error) {
	return e.env.AddUser(user, nil)
}

// startControllerManager runs kube-controller-manager with the named controllers. Pods it creates stay Pending:
// there is no scheduler or kubelet.
func (e *Env) startControllerManager(opts Options) error {
	binary := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kube-controller-manager")
	if opts.BinaryDir != "" {
		binary = filepath.Join(opts.BinaryDir, "kube-controller-manager")
	}
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("kube-controller-manager is not in KUBEBUILDER_ASSETS (build it with "+
			"hack/setup-envtest.sh --with-controller-manager): %w", err)
	}
	user, err := e.AddUser(envtest.User{Name: "kube-controller-manager", Groups: []string{"system:masters"}})
	if err != nil {
		return fmt.Errorf("creating a user for kube-controller-manager: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("writing kube-controller-manager's kubeconfig: %w", err)
	}
	var dir string
	if opts.WorkDir != "" {
		dir = filepath.Join(opts.WorkDir, "kube-controller-manager")
		err = os.MkdirAll(dir, 0o700)
	} else {
		dir, err = os.MkdirTemp("", "pier-kcm-")
	}
	if err != nil {
		return err
	}
	e.kcmDir = dir
	file := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(file, kubeconfig, 0o600); err != nil {
		return err
	}
	cmd := exec.Command(binary,
		"--kubeconfig="+file,
		"--controllers="+strings.Join(opts.KubeControllers, ","),
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--concurrent-gc-syncs=5",
	)
	cmd.Stdout, cmd.Stderr = kcmLog(dir), kcmLog(dir)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	e.kcm = cmd
	return nil
}

// kcmLog is where kube-controller-manager's output goes: its folder, or stderr with PIER_TEST_VERBOSE.
func kcmLog(dir string) *os.File {
	if os.Getenv("PIER_TEST_VERBOSE") != "" {
		return os.Stderr
	}
	f, err := os.OpenFile(filepath.Join(dir, "kube-controller-manager.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return os.Stderr
	}
	return f
}

var namespaceSeq atomic.Int64

// Namespace creates a fresh namespace named after the test, so tests never see each other's objects.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '-'
	}, name)
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("%s-%d", strings.Trim(name, "-"), namespaceSeq.Add(1))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	// envtest runs no namespace controller, so a namespace's objects would outlive the test. pier's own are
	// deleted when it ends: an endpoint a test left failing would otherwise keep a suite's shared operator busy
	// retrying it, and tests that wait for the operator to be idle would wait in vain. The garbage collector
	// (when it runs) removes their children.
	t.Cleanup(func() {
		ctx := context.Background()
		for _, obj := range []client.Object{&transferv1alpha1.TransferUser{}, &transferv1alpha1.TransferEndpoint{}} {
			_ = e.Client.DeleteAllOf(ctx, obj, client.InNamespace(name)) // CRDs not installed: nothing to delete
		}
	})
	return name
}

// Unreachable is a client configuration for an API server that is not there: an address on 127.0.0.1 that
// nothing listens on, for tests of what a client does while the API server is down.
func Unreachable(t testing.TB) *rest.Config {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close() // nothing listens here now
	return &rest.Config{Host: "https://" + closed, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
}

// CreateSecret creates the Secret namespace/name holding data, or fails the test.
func (e *Env) CreateSecret(t testing.TB, namespace, name string, data map[string]string) {
	t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, StringData: data}
	if err := e.Client.Create(context.Background(), secret); err != nil {
		t.Fatalf("creating Secret %s/%s: %v", namespace, name, err)
	}
}
