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

package tenancy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/testsupport/syncbuffer"
)

// install is what an install path grants the manager: its RBAC objects and ServiceAccount, and the namespaces its
// Deployment tells the manager to watch.
type install struct {
	objects        []*unstructured.Unstructured
	serviceAccount string // namespace/name
	namespace      string
	args           []string // the manager container's
	watch          []string // --watch-namespaces; empty for every namespace
	// files are the keys of the install's ConfigMaps, which the Deployment mounts as files (--endpoint-defaults).
	files map[string]string
}

// rbacKinds are the kinds of an install that grant or hold the manager's identity.
var rbacKinds = []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}

// chartNamespace is where the chart's tests install it: another namespace than the kustomize install's.
const chartNamespace = "pier-chart"

// chartInstall renders charts/pier as release pier in chartNamespace with helm's flags.
func chartInstall(t *testing.T, flags ...string) install {
	t.Helper()
	args := slices.Concat([]string{"template", "pier", filepath.Join(controlplane.RepoRoot(), "charts", "pier"),
		"--namespace", chartNamespace, "--kube-version", "1.37.2"}, flags)
	return readInstall(t, runTool(t, helmBin, args...))
}

// kustomizeInstall builds a kustomize folder under config/.
func kustomizeInstall(t *testing.T, dir string) install {
	t.Helper()
	return readInstall(t, runTool(t, kustomize, "build", filepath.Join(controlplane.RepoRoot(), "config", dir)))
}

func runTool(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

func readInstall(t *testing.T, manifests []byte) install {
	t.Helper()
	var inst install
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		switch {
		case len(u.Object) == 0:
		case slices.Contains(rbacKinds, u.GetKind()):
			inst.objects = append(inst.objects, u)
		case u.GetKind() == "ConfigMap":
			data, _, _ := unstructured.NestedStringMap(u.Object, "data")
			for key, value := range data {
				if inst.files == nil {
					inst.files = map[string]string{}
				}
				inst.files[key] = value
			}
		case u.GetKind() == "Deployment":
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
				t.Fatal(err)
			}
			inst.namespace = d.Namespace
			inst.serviceAccount = d.Namespace + "/" + d.Spec.Template.Spec.ServiceAccountName
			inst.args = d.Spec.Template.Spec.Containers[0].Args
		}
	}
	if inst.serviceAccount == "" || len(inst.objects) == 0 {
		t.Fatalf("the install has no manager Deployment or no RBAC")
	}
	for _, arg := range inst.args {
		if list, ok := strings.CutPrefix(arg, "--watch-namespaces="); ok {
			inst.watch = strings.Split(list, ",")
		}
	}
	return inst
}

// apply creates the install's RBAC objects (and the namespaces they are in) as an administrator, and deletes them
// when the test ends, so the next install starts from none.
func (inst install) apply(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, obj := range inst.objects {
		if ns := obj.GetNamespace(); ns != "" {
			ensureNamespace(t, ns)
		}
		if err := env.Client.Create(ctx, obj.DeepCopy()); err != nil {
			t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		t.Cleanup(func() {
			if err := env.Client.Delete(ctx, obj.DeepCopy()); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting %s %s: %v", obj.GetKind(), obj.GetName(), err)
			}
		})
	}
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// identity is a client configuration that authenticates as the install's ServiceAccount: the API server's
// authorizer sees the same user name and groups as for the ServiceAccount's token.
func (inst install) identity(t *testing.T) *envtest.AuthenticatedUser {
	t.Helper()
	ns, _, _ := strings.Cut(inst.serviceAccount, "/")
	user, err := env.AddUser(envtest.User{
		Name:   "system:serviceaccount:" + strings.Replace(inst.serviceAccount, "/", ":", 1),
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns},
	})
	if err != nil {
		t.Fatal(err)
	}
	return user
}

// manager is the manager binary running as an install's ServiceAccount.
type manager struct {
	log *syncbuffer.Buffer
}

// outOfCluster are the flags that differ from the install's because the manager runs here, not in a pod: no
// leader election (it finds its Lease's namespace in the pod's service account folder), no listeners, and an
// image name for the server Deployments it writes (the kustomize install refers to an environment variable).
var outOfCluster = map[string]string{
	"leader-elect":              "false",
	"metrics-bind-address":      "0",
	"health-probe-bind-address": "0",
	"server-image":              "example.test/pier-server:test",
	"zap-encoder":               "json",
}

// start runs the manager with the install's arguments (outOfCluster's replaced) as user; it stops at the end of
// the test.
func (inst install) start(t *testing.T, user *envtest.AuthenticatedUser) *manager {
	t.Helper()
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(file, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, arg := range inst.args {
		name, value, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if name == "endpoint-defaults" {
			// The ConfigMap the pod would mount there, written where the manager can read it here.
			content, ok := inst.files[filepath.Base(value)]
			if !ok {
				t.Fatalf("--endpoint-defaults=%s: the install has no ConfigMap key %s", value, filepath.Base(value))
			}
			local := filepath.Join(t.TempDir(), filepath.Base(value))
			if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			arg = "--endpoint-defaults=" + local
		}
		if _, replaced := outOfCluster[name]; !replaced {
			args = append(args, arg)
		}
	}
	for name, value := range outOfCluster {
		args = append(args, "--"+name+"="+value)
	}
	m := &manager{log: &syncbuffer.Buffer{}}
	cmd := exec.Command(managerBin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+file)
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("manager %q as %s", args, inst.serviceAccount)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			err = <-done
		}
		// A clean stop ends with status 0; anything else is in the log below.
		if err != nil {
			t.Logf("manager: %v", err)
		}
		if t.Failed() {
			t.Logf("manager log:\n%s", m.log.String())
		}
	})
	return m
}

// klogError is how client-go's own log (informers, leader election) writes an error: "E1203 20:15:08.123 ...".
var klogError = regexp.MustCompile(`^E\d{4} `)

// problems are the lines of the manager's log that report an error or a refused request.
func (m *manager) problems() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(m.log.String()))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, `"level":"error"`) || klogError.MatchString(line) || strings.Contains(line, "forbidden") {
			out = append(out, line)
		}
	}
	return out
}

// can asks the API server whether cfg's user may do verb on resource (group/resource) in namespace ("" for every
// namespace).
func can(t *testing.T, cfg *rest.Config, verb, group, resource, namespace string) bool {
	t.Helper()
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Namespace: namespace},
	}}
	if err := c.Create(context.Background(), review); err != nil {
		t.Fatalf("asking whether %s may %s %s: %v", cfg.Username, verb, resource, err)
	}
	return review.Status.Allowed
}

func describe(namespace string) string {
	if namespace == "" {
		return "every namespace"
	}
	return fmt.Sprintf("namespace %s", namespace)
}
