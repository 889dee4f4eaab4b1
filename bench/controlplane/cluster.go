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

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/bench/controlplane/internal/audit"
	"github.com/pier-dev/pier/internal/localcluster"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

const (
	// managerUser is the manager's identity: bound to the install's ClusterRole and nothing else, and the user
	// whose writes the audit log records.
	managerUser = "pier-bench-manager"
	// namespace holds every object of a scenario.
	namespace = "bench"
	// serviceRange gives room for thousands of Services (envtest's default /24 holds 254).
	serviceRange = "10.0.0.0/16"
)

// kubeControllers are the parts of kube-controller-manager that run: Deployments get ReplicaSets and pods, and
// their status follows the pods' (which the bench's stand-in kubelet marks ready), as on a cluster.
var kubeControllers = []string{"deployment-controller", "replicaset-controller"}

// cluster is a fresh control plane for one scenario.
type cluster struct {
	env *controlplane.Env
	// admin acts as the cluster's administrator, without client-side rate limits: creating thousands of objects
	// at once is the load being measured.
	admin      client.Client
	adminCfg   *rest.Config
	auditLog   string
	kubeconfig string // the manager's
}

// startCluster starts a control plane in dir with b's CRDs, the audit log of the manager's writes, and the
// manager's identity bound to b's ClusterRole.
func startCluster(ctx context.Context, b *build, dir string) (_ *cluster, err error) {
	policy, err := audit.Policy(managerUser)
	if err != nil {
		return nil, err
	}
	policyFile := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policyFile, policy, 0o600); err != nil {
		return nil, err
	}
	binDir := filepath.Join(dir, "bin")
	if err := localcluster.WriteControlPlaneWrappers(binDir); err != nil {
		return nil, err
	}
	c := &cluster{auditLog: filepath.Join(dir, "audit.log")}
	c.env, err = controlplane.StartWith(controlplane.Options{
		KubeControllers: kubeControllers,
		BinaryDir:       binDir,
		WorkDir:         filepath.Join(dir, "control-plane"),
		CRDDir:          b.crdDir,
		APIServerFlags: map[string]string{
			"audit-policy-file":        policyFile,
			"audit-log-path":           c.auditLog,
			"service-cluster-ip-range": serviceRange,
		},
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.stop())
		}
	}()
	c.adminCfg = rest.CopyConfig(c.env.Config)
	c.adminCfg.QPS, c.adminCfg.Burst = -1, 0 // no client-side limit
	if c.admin, err = client.New(c.adminCfg, client.Options{Scheme: c.env.Scheme}); err != nil {
		return nil, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if err := c.admin.Create(ctx, ns); err != nil {
		return nil, fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	if err := c.bindManager(ctx, b.roleFile); err != nil {
		return nil, err
	}
	user, err := c.env.AddUser(envtest.User{Name: managerUser})
	if err != nil {
		return nil, fmt.Errorf("creating the manager's identity: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return nil, err
	}
	c.kubeconfig = filepath.Join(dir, "manager.kubeconfig")
	if err := os.WriteFile(c.kubeconfig, data, 0o600); err != nil {
		return nil, err
	}
	return c, nil
}

// bindManager creates the install's ClusterRole (config/rbac/role.yaml, which dist/install.yaml and the chart
// carry) and binds it to the manager's identity, as the install binds it to the manager's ServiceAccount. The
// install's other roles are for leader election and for authenticating metrics scrapes, neither of which the
// bench uses.
func (c *cluster) bindManager(ctx context.Context, roleFile string) error {
	data, err := os.ReadFile(roleFile)
	if err != nil {
		return err
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(data, role); err != nil {
		return fmt.Errorf("reading %s: %w", roleFile, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: managerUser}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := c.admin.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating the manager's RBAC from %s: %w", roleFile, err)
		}
	}
	return nil
}

func (c *cluster) stop() error {
	return c.env.Stop()
}
