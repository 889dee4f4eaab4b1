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

// Package e2e drives the whole chain with real clients: manifest -> operator -> rendered pod -> pier-server ->
// OpenSSH sftp, curl, lftp and Go clients. The target is a Target: by default a local cluster started here
// (internal/localcluster, the machinery of make demo); with PIER_E2E_TARGET=node, the real node of
// hack/local-cluster.sh with pier installed as a user installs it (make test-e2e-node, docs/testing.md).
package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/localcluster"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// target is what the suite runs against.
var target Target

func TestMain(m *testing.M) {
	localcluster.Init()
	// controller-runtime's envtest logs through logr; without a logger it prints a warning with a stack trace.
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if os.Getenv("PIER_TEST_VERBOSE") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	switch t := os.Getenv("PIER_E2E_TARGET"); t {
	case "", "local":
	case "node":
		dir, err := os.MkdirTemp("", "pier-e2e-node-")
		if err != nil {
			return 0, err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		return runNode(m, dir, log)
	default:
		return 0, fmt.Errorf("PIER_E2E_TARGET=%q: want local (the default) or node (docs/testing.md)", t)
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return 0, fmt.Errorf("KUBEBUILDER_ASSETS is not set: run `make test-e2e`, or " +
			"`export KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh --with-controller-manager)` first")
	}
	dir, err := os.MkdirTemp("", "pier-e2e-")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := filepath.Join(dir, "bin")
	for _, b := range []struct{ name, pkg string }{{"manager", "./cmd/manager"}, {"pier-server", "./cmd/pier-server"}} {
		// Static, as in the images: the pod runs in its own root file system.
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, b.name), b.pkg)
		cmd.Dir = controlplane.RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("building %s: %w\n%s", b.pkg, err, out)
		}
	}

	ctx := context.Background()
	start := time.Now()
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		StateDir:      filepath.Join(dir, "state"),
		ManagerBinary: filepath.Join(bin, "manager"),
		ServerBinary:  filepath.Join(bin, "pier-server"),
		// Every pier pod binds the same container ports: the suite runs one endpoint's pods at a time.
		RunPods: labels.SelectorFromSet(labels.Set{render.LabelEndpoint: endpointName}),
		Log:     log,
	})
	if err != nil {
		return 0, err
	}
	defer func() { _ = cluster.Stop() }()
	fmt.Fprintf(os.Stderr, "e2e: local cluster up in %s (state in %s)\n", time.Since(start).Round(time.Millisecond), dir)
	target = &localTarget{cluster: cluster}
	return m.Run(), nil
}
