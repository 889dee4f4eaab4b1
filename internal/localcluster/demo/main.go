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

// Command demo is `make demo`: a working pier endpoint on this machine with no cluster and no Docker. It starts a
// local control plane and the operator, applies config/samples, runs the "partners" endpoint's pod here as its
// Deployment says, prints how to connect and writes the env file, and stops everything, removing the env file,
// on Ctrl-C, SIGTERM or SIGHUP, or when the process that started it (make) exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/localcluster"
)

const (
	namespace = "default"
	endpoint  = "partners"
	user      = "alice"
	readyWait = 3 * time.Minute
)

type options struct {
	stateDir, binDir, samples string
	kubectl, setupEnvtest     string
	stopWithParent            bool
}

func main() {
	// First: this binary is also the wrapper the local cluster starts etcd and the others through.
	localcluster.Init()
	parent := os.Getppid() // before anything else, so that a parent that dies early is noticed
	// controller-runtime's envtest logs through logr; without a logger it prints a warning with a stack trace.
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	var opts options
	flag.StringVar(&opts.stateDir, "state-dir", ".demo", "Folder for the demo's state: kubeconfig, keys, CA, logs, files.")
	flag.StringVar(&opts.binDir, "bin-dir", "bin", "Folder holding the manager and pier-server binaries (make build).")
	flag.StringVar(&opts.samples, "samples", "config/samples", "Folder of manifests to apply.")
	flag.StringVar(&opts.kubectl, "kubectl", "", "kubectl to print in the commands, as is; by default a kubectl on "+
		"PATH within one minor version of the control plane, else one built by -setup-envtest.")
	flag.StringVar(&opts.setupEnvtest, "setup-envtest", "hack/setup-envtest.sh", "Script that builds kubectl "+
		"(--with-kubectl) when none on PATH fits.")
	flag.BoolVar(&opts.stopWithParent, "stop-with-parent", true, "Stop when the process that started the demo "+
		"(make, or your shell) exits, so that killing make does not leave the demo running.")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := stopOnSignals(log)
	defer stop()
	if opts.stopWithParent {
		if err := stopWithParent(parent); err != nil {
			log.Warn("the demo will not stop by itself when the process that started it exits", "error", err)
		}
	}
	if err := run(ctx, log, opts); err != nil {
		log.Error("demo failed", "error", err)
		os.Exit(1)
	}
	fmt.Println("pier demo stopped.")
}

// stopOnSignals returns a context that ends at the first SIGINT, SIGTERM or SIGHUP. Later ones are logged and
// otherwise ignored: the demo is already stopping, and dying halfway would leave the env file behind. A terminal's
// Ctrl-C and `kill` of the process group deliver one signal twice (make forwards SIGTERM to the demo too).
func stopOnSignals(log *slog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	// A reader of the demo's output that went away (`make demo | tee`, Ctrl-C) must not kill it with SIGPIPE while
	// it stops: caught, a write to a broken pipe just fails. Caught rather than ignored, so children do not inherit it.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	go func() {
		sig, ok := <-signals
		if !ok {
			return
		}
		log.Info("stopping the demo", "signal", sig.String())
		cancel()
		for sig := range signals {
			log.Info("already stopping", "signal", sig.String())
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		close(signals)
		cancel()
	}
}

func run(ctx context.Context, log *slog.Logger, opts options) (err error) {
	stateDir, err := filepath.Abs(opts.stateDir)
	if err != nil {
		return err
	}
	kubectl, err := chooseKubectl(ctx, log, opts.kubectl, opts.setupEnvtest)
	if err != nil {
		return stoppedOr(ctx, err)
	}
	abs := func(name string) string { p, _ := filepath.Abs(filepath.Join(opts.binDir, name)); return p }
	// Start waits while another demo (or the end-to-end tests) runs, and only then does this one touch the files
	// of the state folder, which may be that other demo's.
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		StateDir:      stateDir,
		ManagerBinary: abs("manager"),
		ServerBinary:  abs("pier-server"),
		RunPods:       labels.SelectorFromSet(labels.Set{render.LabelEndpoint: endpoint}),
		Log:           log,
	})
	if err != nil {
		return stoppedOr(ctx, err)
	}
	envFile := filepath.Join(stateDir, "endpoint.env")
	knownHosts := filepath.Join(stateDir, "known_hosts")
	defer func() {
		// The env file goes first: from now on it would point at a cluster that is going away.
		log.Info("stopping the pod, the operator and the control plane")
		err = errors.Join(stoppedOr(ctx, err), removeIfExists(envFile), removeIfExists(knownHosts), cluster.Stop())
	}()
	if err := replaceStale(log, envFile, knownHosts); err != nil {
		return err
	}

	keyFile, publicKey, err := sshKey(stateDir)
	if err != nil {
		return err
	}
	if err := applySamples(ctx, cluster, opts.samples, publicKey); err != nil {
		return err
	}

	log.Info("waiting for the endpoint and its user to be Ready", "endpoint", endpoint, "user", user)
	te := &transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: endpoint}}
	if err := localcluster.WaitReady(ctx, cluster.Client, te, readyWait); err != nil {
		return fmt.Errorf("%w; the operator's log is %s", err, filepath.Join(stateDir, "manager.log"))
	}
	tu := &transferv1alpha1.TransferUser{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: user}}
	if err := localcluster.WaitReady(ctx, cluster.Client, tu, readyWait); err != nil {
		return err
	}
	password, err := localcluster.GeneratedPassword(ctx, cluster.Client, tu)
	if err != nil {
		return err
	}
	info, err := localcluster.EndpointInfo(ctx, cluster.Client, namespace, endpoint)
	if err != nil {
		return err
	}
	if err := os.WriteFile(knownHosts, info.KnownHosts, 0o600); err != nil {
		return err
	}
	env := envVars{
		{"KUBECONFIG", cluster.KubeconfigFile}, {"NAMESPACE", namespace}, {"ENDPOINT", endpoint},
		{"SFTP_PORT", fmt.Sprint(info.SFTPPort)}, {"FTP_PORT", fmt.Sprint(info.FTPPort)},
		{"FTPS_PORT", fmt.Sprint(info.FTPSPort)}, {"PASSIVE_PORTS", fmt.Sprintf("%d-%d", info.PassiveStart, info.PassiveEnd)},
		{"USERNAME", tu.Spec.Username}, {"PASSWORD", password}, {"SSH_KEY_FILE", keyFile},
		{"KNOWN_HOSTS_FILE", knownHosts}, {"CA_FILE", cluster.CA.CertFile}, {"KUBECTL", kubectl.path},
	}
	if err := writeEnvFile(envFile, env); err != nil {
		return err
	}
	printHowToConnect(os.Stdout, connectInfo{envFile: envFile, env: env, kubectl: kubectl, limits: te.Spec.Limits})

	<-ctx.Done()
	return nil
}

// stoppedOr is err, unless the demo was asked to stop: then err is what cancelling did, not a failure.
func stoppedOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
