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

// Package availability checks what a TransferEndpoint's Available and Ready conditions say when its pods cannot be
// created or cannot run. Kubernetes' own deployment and replicaset controllers run here (there is no scheduler
// or kubelet, so the tests write pod status as those would), and the operator runs with exactly the permissions
// of its generated ClusterRole, config/rbac/role.yaml, so a rule it lacks fails these tests.
package availability

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/internal/controller"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

var env *controlplane.Env

// operatorUser is the identity the operator runs as, bound to the generated ClusterRole alone.
const operatorUser = "pier-operator-under-test"

func TestMain(m *testing.M) {
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	var err error
	env, err = controlplane.StartWith(controlplane.Options{
		KubeControllers: []string{"deployment-controller", "replicaset-controller"},
	})
	if err != nil {
		return 0, err
	}
	defer func() { _ = env.Stop() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, err := startOperator(ctx)
	if err != nil {
		return 0, err
	}
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	return code, nil
}

// startOperator binds operatorUser to the ClusterRole in config/rbac/role.yaml and runs the operator's manager as
// that user, with the cache and client options of cmd/manager.
func startOperator(ctx context.Context) (<-chan error, error) {
	data, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(data, role); err != nil {
		return nil, fmt.Errorf("reading config/rbac/role.yaml: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: operatorUser}},
	}
	if err := env.Client.Create(ctx, role); err != nil {
		return nil, fmt.Errorf("creating the operator's ClusterRole: %w", err)
	}
	if err := env.Client.Create(ctx, binding); err != nil {
		return nil, fmt.Errorf("binding the operator's ClusterRole: %w", err)
	}
	user, err := env.AddUser(envtest.User{Name: operatorUser})
	if err != nil {
		return nil, fmt.Errorf("creating the operator's user: %w", err)
	}
	cfg := user.Config()

	opts, certManager, err := controller.ManagerOptions(cfg, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
	}, nil)
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if err := controller.Setup(ctx, mgr, controller.Options{ServerImage: serverImage, CertManager: certManager}); err != nil {
		return nil, fmt.Errorf("setting up the controllers: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return done, nil
}
