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

// Package manifests tests the install paths pier ships: dist/install.yaml (make build-installer), config/default
// and the config/prometheus component. They are applied to a real kube-apiserver (envtest) the way a user applies
// them, and the manager's Deployment is checked against the restricted Pod Security Standard.
package manifests

import (
	"fmt"
	"io"
	"os"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// cfg reaches the control plane every test in this package shares.
var cfg *rest.Config

func TestMain(m *testing.M) {
	// envtest logs through logr; without a logger it prints a warning with a stack trace.
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run `make test-manifests`, or "+
			"`export KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh)` before `go test`")
		return 1
	}
	// A control plane without any CRD, unlike internal/localcluster/controlplane's, which installs config/crd/bases: these tests
	// install pier's CRDs from the manifests under test, as a user's cluster would get them.
	env := &envtest.Environment{}
	var err error
	cfg, err = env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()
	return m.Run()
}
