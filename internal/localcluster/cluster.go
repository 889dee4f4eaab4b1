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

// Package localcluster runs the whole pier chain on one machine, with no Docker and no cluster: a control plane
// (etcd, kube-apiserver and kube-controller-manager from hack/setup-envtest.sh) with pier's and cert-manager's
// CRDs, the operator binary against it, a stand-in for cert-manager that issues Certificates from a local CA, and
// a pod runner that runs the operator's pods on this machine as their Deployment says. make demo and the
// end-to-end tests are built on it.
package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/localcluster/podrunner"
	"github.com/pier-dev/pier/internal/pki"
)

// ServerImage is the image name the local operator renders; the pod runner maps it to the pier-server binary.
const ServerImage = "ghcr.io/pier-dev/pier-server:local"

// Options say what to run.
type Options struct {
	// StateDir holds everything the cluster writes: kubeconfig, CA, logs, pod folders. The caller owns it.
	StateDir      string
	ManagerBinary string
	ServerBinary  string
	// RunPods selects the pods the runner runs on this machine. Every pier pod binds the same container ports,
	// so run one endpoint's pods at a time.
	RunPods labels.Selector
	// Logs, when set, also receives the output of the operator and the pods.
	Logs io.Writer
	Log  *slog.Logger
}

// Cluster is a running local control plane with the operator and a pod runner.
type Cluster struct {
	// Config and Client act as the cluster admin.
	Config *rest.Config
	Client client.Client
	// KubeconfigFile is an admin kubeconfig for kubectl and the tests.
	KubeconfigFile string
	// CA issues the certificates cert-manager would; its CertFile is what FTPS clients trust.
	CA *pki.CA

	env     *controlplane.Env
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	manager *exec.Cmd
	log     *slog.Logger
	issuer  *Issuer
	lock    *os.File // the host lock (see lockHost)
	runDirs []string // what only this run uses, removed by Stop
}

// Start brings the chain up and returns once every part runs; the endpoints become Ready later. It first takes a
// lock that only one local cluster on this machine holds at a time (every pier pod binds the same ports), waiting
// until ctx ends while another holds it; then it removes what an earlier run in StateDir left, since a run that was
// killed could not. Everything it starts dies with this process, even when it is killed; Stop ends it in order.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if !initialized {
		return nil, errors.New("localcluster: call localcluster.Init first thing in main (or TestMain)")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	for _, bin := range []string{opts.ManagerBinary, opts.ServerBinary} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("%w (run make build first)", err)
		}
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, err
	}
	lock, err := lockHost(ctx, opts.Log, hostLockFile, opts.StateDir)
	if err != nil {
		return nil, err
	}
	// bin holds the control plane's wrappers (see Init), control-plane its data; both are removed by Stop. The
	// pods' folders (node) stay after Stop, so that their files can still be read, until the next run.
	binDir, workDir, nodeDir := filepath.Join(opts.StateDir, "bin"), filepath.Join(opts.StateDir, "control-plane"),
		filepath.Join(opts.StateDir, "node")
	c := &Cluster{lock: lock, log: opts.Log, runDirs: []string{binDir, workDir}}
	ctx, c.cancel = context.WithCancel(ctx)
	fail := func(err error) (*Cluster, error) {
		return nil, errors.Join(err, c.Stop())
	}
	for _, dir := range []string{binDir, workDir, nodeDir} {
		if err := os.RemoveAll(dir); err != nil {
			return fail(fmt.Errorf("removing what an earlier run left: %w", err))
		}
	}
	if c.CA, err = pki.OpenLocalCA(filepath.Join(opts.StateDir, "ca")); err != nil {
		return fail(err)
	}
	if err := WriteControlPlaneWrappers(binDir); err != nil {
		return fail(err)
	}

	opts.Log.Info("starting the control plane (etcd, kube-apiserver, kube-controller-manager)")
	c.env, err = controlplane.StartWith(controlplane.Options{
		CertManagerCRDs: true,
		KubeControllers: []string{"deployment-controller", "replicaset-controller", "garbage-collector-controller",
			"persistentvolumeclaim-protection-controller"},
		BinaryDir: binDir,
		WorkDir:   workDir,
	})
	if err != nil {
		return fail(err)
	}
	c.Config, c.Client = c.env.Config, c.env.Client

	if c.KubeconfigFile, err = c.writeKubeconfig(opts.StateDir); err != nil {
		return fail(err)
	}
	if err := c.startManager(opts); err != nil {
		return fail(err)
	}

	c.issuer = NewIssuer(c.Client, c.CA, opts.Log, nil)
	c.goRun(func() error { return c.issuer.Run(ctx) })

	runner, err := podrunner.New(podrunner.Options{
		Config:   c.Config,
		NodeName: "pier-local",
		Selector: opts.RunPods,
		Images:   map[string]podrunner.Image{ServerImage: {Binary: opts.ServerBinary, Entrypoint: "/pier-server"}},
		StateDir: nodeDir,
		Logs:     opts.Logs,
		Log:      opts.Log,
	})
	if err != nil {
		return fail(err)
	}
	c.goRun(func() error { return runner.Run(ctx) })
	return c, nil
}

// goRun runs f until the cluster stops, logging its error.
func (c *Cluster) goRun(f func() error) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			c.log.Error("a local cluster component stopped", "error", err)
		}
	}()
}

// writeKubeconfig writes an admin kubeconfig, the one KUBECONFIG points at.
func (c *Cluster) writeKubeconfig(dir string) (string, error) {
	user, err := c.env.AddUser(envtest.User{Name: "pier-admin", Groups: []string{"system:masters"}})
	if err != nil {
		return "", fmt.Errorf("creating the admin user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return "", err
	}
	return file, nil
}

// startManager runs the operator binary, as a Deployment would run it, against the local API server.
func (c *Cluster) startManager(opts Options) error {
	logFile, err := os.Create(filepath.Join(opts.StateDir, "manager.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(opts.ManagerBinary,
		"--server-image="+ServerImage,
		"--metrics-bind-address=0",
		"--health-probe-bind-address=127.0.0.1:0",
		"--leader-elect=false",
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.KubeconfigFile)
	cmd.SysProcAttr = childAttr()
	var out io.Writer = logFile
	if opts.Logs != nil {
		out = io.MultiWriter(logFile, &prefixWriter{prefix: "[operator] ", w: opts.Logs})
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the operator %s: %w", opts.ManagerBinary, err)
	}
	c.manager = cmd
	return nil
}

// RotateCertificate issues a new certificate into the Secret of the cert-manager Certificate namespace/name, as a
// renewal would.
func (c *Cluster) RotateCertificate(ctx context.Context, namespace, name string) error {
	return c.issuer.Rotate(ctx, namespace, name)
}

// managerStopWait is how long the operator has to stop after SIGINT before it is killed.
const managerStopWait = 15 * time.Second

// Stop stops the pods, the operator and the control plane, removes the run's folders and releases the host lock.
func (c *Cluster) Stop() error {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	var errs []error
	if c.manager != nil && c.manager.Process != nil {
		errs = append(errs, stopProcess(c.manager, managerStopWait))
	}
	if c.env != nil {
		errs = append(errs, c.env.Stop())
	}
	for _, dir := range c.runDirs {
		errs = append(errs, os.RemoveAll(dir))
	}
	if c.lock != nil {
		errs = append(errs, c.lock.Close())
	}
	return errors.Join(errs...)
}

// stopProcess interrupts cmd and waits for it to exit, killing it after wait.
func stopProcess(cmd *exec.Cmd, wait time.Duration) error {
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		if err := cmd.Wait(); err != nil { // it had exited already
			return fmt.Errorf("%s had exited: %w", filepath.Base(cmd.Path), err)
		}
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s stopped with %w", filepath.Base(cmd.Path), err)
		}
		return nil
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		err := <-done
		return fmt.Errorf("%s did not stop within %s of SIGINT and was killed: %w", filepath.Base(cmd.Path), wait, err)
	}
}
