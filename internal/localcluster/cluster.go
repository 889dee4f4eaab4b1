/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

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

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pier-dev/pier/internal/localca"
	"github.com/pier-dev/pier/internal/podrunner"
	"github.com/pier-dev/pier/internal/testenv"
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
	CA *localca.CA

	env     *testenv.Env
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	manager *exec.Cmd
	log     *slog.Logger
	issuer  *issuer
}

// Start brings the chain up and returns once every part runs; the endpoints become Ready later.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, err
	}
	for _, bin := range []string{opts.ManagerBinary, opts.ServerBinary} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("%w (run make build first)", err)
		}
	}
	ca, err := localca.Open(filepath.Join(opts.StateDir, "ca"))
	if err != nil {
		return nil, err
	}

	opts.Log.Info("starting the control plane (etcd, kube-apiserver, kube-controller-manager)")
	env, err := testenv.StartWith(testenv.Options{
		CertManagerCRDs: true,
		KubeControllers: []string{"deployment-controller", "replicaset-controller", "garbage-collector-controller",
			"persistentvolumeclaim-protection-controller"},
	})
	if err != nil {
		return nil, err
	}
	c := &Cluster{Config: env.Config, Client: env.Client, CA: ca, env: env, log: opts.Log}
	ctx, c.cancel = context.WithCancel(ctx)
	fail := func(err error) (*Cluster, error) {
		return nil, errors.Join(err, c.Stop())
	}

	if c.KubeconfigFile, err = c.writeKubeconfig(opts.StateDir); err != nil {
		return fail(err)
	}
	if err := c.startManager(opts); err != nil {
		return fail(err)
	}

	c.issuer = &issuer{client: env.Client, ca: ca, log: opts.Log}
	c.goRun(func() error { return c.issuer.run(ctx) })

	runner, err := podrunner.New(podrunner.Options{
		Config:   env.Config,
		NodeName: "pier-local",
		Selector: opts.RunPods,
		Images:   map[string]podrunner.Image{ServerImage: {Binary: opts.ServerBinary, Entrypoint: "/pier-server"}},
		StateDir: filepath.Join(opts.StateDir, "node"),
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
	return c.issuer.rotate(ctx, namespace, name)
}

// Stop stops the pods, the operator and the control plane.
func (c *Cluster) Stop() error {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	if c.manager != nil && c.manager.Process != nil {
		_ = c.manager.Process.Signal(os.Interrupt)
		_ = c.manager.Wait()
	}
	return c.env.Stop()
}
