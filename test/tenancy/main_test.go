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

// Package tenancy runs the real manager binary with nothing but the permissions an install grants it, as its
// ServiceAccount, against a real API server: the Helm chart and the kustomize install, each cluster-wide and for a
// list of namespaces (watchNamespaces, config/namespaced). A permission the manager lacks shows in its log as a
// refused request and fails the test; a namespace outside the list must stay untouched. It also checks the
// aggregated pier-editor and pier-viewer roles through Kubernetes' own edit, view and admin roles, which
// kube-controller-manager's clusterrole-aggregation controller fills in.
package tenancy

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

var (
	env *controlplane.Env
	// managerBin is cmd/manager, built for these tests.
	managerBin string
	helmBin    = os.Getenv("HELM")
	kustomize  = os.Getenv("KUSTOMIZE")
)

func TestMain(m *testing.M) {
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tenancy:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	if helmBin == "" || kustomize == "" {
		return 0, fmt.Errorf("HELM and KUSTOMIZE must name the pinned helm and kustomize: run `make test-tenancy` " +
			"(or `make test`), which builds them into bin/ and passes them in")
	}
	dir, err := os.MkdirTemp("", "pier-tenancy-")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	managerBin = filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", managerBin, "./cmd/manager")
	build.Dir = controlplane.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("building the manager: %w\n%s", err, out)
	}
	env, err = controlplane.StartWith(controlplane.Options{
		KubeControllers: []string{"clusterrole-aggregation-controller"},
	})
	if err != nil {
		return 0, err
	}
	defer func() { _ = env.Stop() }()
	return m.Run(), nil
}
