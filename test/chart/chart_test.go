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

// Package chart tests the Helm chart in charts/pier with the pinned helm binary (the Makefile builds it and passes
// it in $HELM): lint, rendering with default and non-default values, the values schema, the manager's command line
// against the real manager's flags, RBAC against config/rbac, restricted Pod Security, and a server-side dry-run of
// everything against a real API server (dryrun_test.go).
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	endpointrender "github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

const (
	release   = "pier"
	namespace = "pier-system"
)

var (
	helmBin  string
	helmHome string // removed after the tests

	chartDir = filepath.Join(controlplane.RepoRoot(), "charts", "pier")
)

func TestMain(m *testing.M) {
	helmBin = os.Getenv("HELM")
	if helmBin == "" {
		fmt.Fprintln(os.Stderr, "chart: HELM is not set: run `make test-chart` (or `make test`), which builds the "+
			"pinned helm into bin/ and passes it in HELM")
		os.Exit(1)
	}
	// Keep helm away from the user's own Helm configuration, repositories and cache.
	home, err := os.MkdirTemp("", "pier-chart-helm-")
	helmHome = home
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
	for _, v := range []string{"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		_ = os.Setenv(v, filepath.Join(home, v))
	}
	// controller-runtime's envtest logs through logr; without a logger it prints a warning with a stack trace.
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	code := m.Run()
	_ = os.RemoveAll(home)
	os.Exit(code)
}

// valueSet is one way of installing the chart: helm flags that choose values.
type valueSet struct {
	name  string
	flags []string
}

// valueSets are the installs every test renders: the defaults, every value changed (values-all.yaml and
// values-off.yaml together change each one), and the secure ServiceMonitor that values-all.yaml (plain HTTP) lacks.
var valueSets = []valueSet{
	{"default", nil},
	{"all", []string{"-f", filepath.Join("testdata", "values-all.yaml")}},
	{"off", []string{"-f", filepath.Join("testdata", "values-off.yaml")}},
	{"secure-servicemonitor", []string{"--set", "metrics.serviceMonitor.enabled=true"}},
	{"metrics-certificate", []string{"-f", filepath.Join("testdata", "values-metrics-certificate.yaml")}},
}

// helm runs the helm binary and returns its stdout, or an error holding its stderr.
func helm(args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helmBin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// kubeVersion is the Kubernetes version helm template renders for: envtest's, which the dry-run test runs.
func kubeVersion() string {
	if v := os.Getenv("ENVTEST_K8S_VERSION"); v != "" {
		return v
	}
	return "1.37.2"
}

// render runs helm template for the release in namespace with flags and returns its objects.
func render(t *testing.T, flags ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helm(append([]string{"template", release, chartDir, "--namespace", namespace, "--kube-version", kubeVersion()}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeAll([]byte(out))
	if err != nil {
		t.Fatalf("reading helm template's output: %v\n%s", err, out)
	}
	return objs
}

// decodeAll reads a multi-document YAML stream, skipping empty documents.
func decodeAll(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// find returns the rendered objects of a kind.
func find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the only rendered object of a kind and name.
func one(t *testing.T, objs []*unstructured.Unstructured, kind, name string, into any) {
	t.Helper()
	for _, o := range find(objs, kind) {
		if o.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
				t.Fatalf("%s %s: %v", kind, name, err)
			}
			return
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
}

// oneIn is one for a namespaced kind whose objects of the same name sit in several namespaces.
func oneIn(t *testing.T, objs []*unstructured.Unstructured, kind, ns, name string, into any) {
	t.Helper()
	for _, o := range find(objs, kind) {
		if o.GetName() == name && o.GetNamespace() == ns {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
				t.Fatalf("%s %s/%s: %v", kind, ns, name, err)
			}
			return
		}
	}
	t.Fatalf("no %s %s/%s rendered", kind, ns, name)
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	ds := find(objs, "Deployment")
	if len(ds) != 1 {
		t.Fatalf("want one Deployment, got %d", len(ds))
	}
	d := &appsv1.Deployment{}
	one(t, objs, "Deployment", ds[0].GetName(), d)
	return d
}

func TestLint(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			for _, strict := range [][]string{nil, {"--strict"}} {
				args := slices.Concat([]string{"lint", chartDir, "--namespace", namespace}, strict, vs.flags)
				if _, err := helm(args...); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestDefaults checks what an install with no values renders.
func TestDefaults(t *testing.T) {
	objs := render(t)
	kinds := make([]string, 0, len(objs))
	for _, o := range objs {
		kinds = append(kinds, o.GetKind()+"/"+o.GetName())
		if o.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("%s/%s lacks the chart's labels: %v", o.GetKind(), o.GetName(), o.GetLabels())
		}
	}
	slices.Sort(kinds)
	want := []string{
		"ClusterRole/pier-editor", "ClusterRole/pier-manager", "ClusterRole/pier-metrics-auth",
		"ClusterRole/pier-metrics-reader", "ClusterRole/pier-viewer",
		"ClusterRoleBinding/pier-manager", "ClusterRoleBinding/pier-metrics-auth",
		"ConfigMap/pier-endpoint-defaults",
		"CustomResourceDefinition/transferendpoints.transfer.pier.dev",
		"CustomResourceDefinition/transferusers.transfer.pier.dev",
		"Deployment/pier", "Pod/pier-selftest", "Role/pier-leader-election", "RoleBinding/pier-leader-election",
		"Service/pier-metrics", "Service/pier-probes", "ServiceAccount/pier",
	}
	if !slices.Equal(kinds, want) {
		t.Errorf("rendered\n%v\nwant\n%v", kinds, want)
	}
	checkDefaultDeployment(t, deployment(t, objs))
}

// checkDefaultDeployment checks the manager's Deployment with default values.
func checkDefaultDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	appVersion := chartAppVersion(t)
	if want := "ghcr.io/pier-dev/pier-manager:" + appVersion; c.Image != want {
		t.Errorf("image %s, want %s", c.Image, want)
	}
	wantArgs := []string{
		"--leader-elect=true",
		"--health-probe-bind-address=:8081",
		"--metrics-bind-address=:8443",
		"--metrics-secure=true",
		"--server-image=ghcr.io/pier-dev/pier-server:" + appVersion,
		"--server-image-pull-policy=IfNotPresent",
		"--max-concurrent-reconciles=4",
		"--endpoint-defaults=/etc/pier/endpoint-defaults/endpoint-defaults.yaml",
		"--zap-log-level=info",
		"--zap-encoder=json",
	}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args\n%q\nwant\n%q", c.Args, wantArgs)
	}
	if *d.Spec.Replicas != 1 || d.Namespace != namespace || d.Spec.Template.Spec.ServiceAccountName != "pier" {
		t.Errorf("replicas %d, namespace %s, service account %s", *d.Spec.Replicas, d.Namespace, d.Spec.Template.Spec.ServiceAccountName)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.StrVal != "probes" {
		t.Errorf("liveness probe %+v", p)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port.StrVal != "probes" {
		t.Errorf("readiness probe %+v", p)
	}
	psc := d.Spec.Template.Spec.SecurityContext
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != 65532 || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("pod security context %+v, want runAsNonRoot and uid 65532", psc)
	}
}

// chartAppVersion reads Chart.yaml's appVersion, which image tags default to.
func chartAppVersion(t *testing.T) string {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(content, &chart); err != nil || chart.AppVersion == "" {
		t.Fatalf("Chart.yaml has no appVersion: %v", err)
	}
	return chart.AppVersion
}

// TestAllValues checks that each value of values-all.yaml reaches the object it is for.
func TestAllValues(t *testing.T) {
	objs := render(t, valueSets[1].flags...)
	d := deployment(t, objs)
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	wantArgs := []string{
		"--leader-elect=true",
		"--health-probe-bind-address=:8081",
		"--metrics-bind-address=:9443",
		"--metrics-secure=false",
		"--server-image=registry.example.com/pier/pier-server@sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
		"--server-image-pull-policy=Never",
		"--max-concurrent-reconciles=8",
		"--endpoint-defaults=/etc/pier/endpoint-defaults/endpoint-defaults.yaml",
		"--watch-namespaces=team-a,team-b",
		"--zap-log-level=debug",
		"--zap-encoder=console",
		"--enable-http2",
	}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args\n%q\nwant\n%q", c.Args, wantArgs)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"name", d.Name, "files"},
		{"name label", d.Labels["app.kubernetes.io/name"], "transfer"},
		{"replicas", *d.Spec.Replicas, int32(3)},
		{"image", c.Image, "registry.example.com/pier/pier-manager@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"priority class", spec.PriorityClassName, "pier-critical"},
		{"topology spread", spec.TopologySpreadConstraints, []corev1.TopologySpreadConstraint{{MaxSkew: 1,
			TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "transfer"}}}}},
		{"pull policy", c.ImagePullPolicy, corev1.PullAlways},
		{"pull secrets", spec.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "regcred"}}},
		{"service account", spec.ServiceAccountName, "pier-operator"},
		{"pod annotation", d.Spec.Template.Annotations["example.com/team"], "files"},
		{"pod label", d.Spec.Template.Labels["example.com/tier"], "ops"},
		{"run as user", *spec.SecurityContext.RunAsUser, int64(1000)},
		{"fs group", *spec.SecurityContext.FSGroup, int64(1000)},
		{"privileged", *c.SecurityContext.Privileged, false},
		{"cpu limit", c.Resources.Limits.Cpu().String(), "1"},
		{"memory request", c.Resources.Requests.Memory().String(), "128Mi"},
		{"node selector", spec.NodeSelector, map[string]string{"kubernetes.io/os": "linux"}},
		{"tolerations", spec.Tolerations, []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual,
			Value: "transfer", Effect: corev1.TaintEffectNoSchedule}}},
		{"affinity", spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values,
			[]string{"amd64", "arm64"}},
		{"env", c.Env, []corev1.EnvVar{{Name: "GOMAXPROCS", Value: "2"}}},
		{"metrics port", c.Ports[1], corev1.ContainerPort{Name: "metrics", ContainerPort: 9443, Protocol: corev1.ProtocolTCP}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %v, want %v", ch.what, ch.got, ch.want)
		}
	}

	checkEndpointDefaults(t, objs, d, endpointrender.PodDefaults{
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry-mirror"}},
		Tolerations: []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "transfer",
			Effect: corev1.TaintEffectNoSchedule}},
		NodeSelector:      map[string]string{"node.example.com/pool": "transfer"},
		PriorityClassName: "transfer-critical",
	})

	var sa corev1.ServiceAccount
	one(t, objs, "ServiceAccount", "pier-operator", &sa)
	if sa.Annotations["example.com/role"] != "files-operator" {
		t.Errorf("service account annotations %v", sa.Annotations)
	}
	var svc corev1.Service
	one(t, objs, "Service", "files-metrics", &svc)
	if p := svc.Spec.Ports[0]; p.Name != "http" || p.Port != 9443 {
		t.Errorf("metrics service port %+v, want http 9443", p)
	}
	checkAllValuesInstall(t, objs, d)
	// Plain-HTTP metrics need no authentication roles.
	for _, name := range []string{"files-metrics-auth", "files-metrics-reader"} {
		for _, o := range find(objs, "ClusterRole") {
			if o.GetName() == name {
				t.Errorf("%s rendered with metrics.secure=false", name)
			}
		}
	}
}

// checkAllValuesInstall checks what values-all.yaml changes besides the Deployment: RBAC for watchNamespaces and
// without the aggregated roles, the PodDisruptionBudget, and the CRDs without crds.keep.
func checkAllValuesInstall(t *testing.T, objs []*unstructured.Unstructured, d *appsv1.Deployment) {
	t.Helper()
	// watchNamespaces: the manager's rules in each of those namespaces, and not cluster-wide.
	for _, ns := range []string{"team-a", "team-b"} {
		var binding rbacv1.RoleBinding
		oneIn(t, objs, "RoleBinding", ns, "files-manager", &binding)
		if s := binding.Subjects[0]; s.Name != "pier-operator" || s.Namespace != namespace {
			t.Errorf("manager binding's subject in %s: %+v", ns, s)
		}
		if r := binding.RoleRef; r.Kind != "Role" || r.Name != "files-manager" {
			t.Errorf("manager binding in %s refers to %+v", ns, r)
		}
		var role rbacv1.Role
		oneIn(t, objs, "Role", ns, "files-manager", &role)
	}
	for _, kind := range []string{"ClusterRole", "ClusterRoleBinding"} {
		for _, o := range find(objs, kind) {
			if o.GetName() == "files-manager" {
				t.Errorf("%s files-manager rendered with watchNamespaces", kind)
			}
		}
	}
	// aggregateClusterRoles is off.
	for _, o := range find(objs, "ClusterRole") {
		if n := o.GetName(); n == "files-editor" || n == "files-viewer" {
			t.Errorf("%s rendered with rbac.aggregateClusterRoles=false", n)
		}
	}
	var pdb policyv1.PodDisruptionBudget
	one(t, objs, "PodDisruptionBudget", "files", &pdb)
	if pdb.Spec.MinAvailable != nil || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 ||
		!reflect.DeepEqual(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
		t.Errorf("PodDisruptionBudget spec %+v, want maxUnavailable 1 over the Deployment's pods", pdb.Spec)
	}
	// crds.keep is off: the CRDs go with the release.
	for _, crd := range find(objs, "CustomResourceDefinition") {
		if _, ok := crd.GetAnnotations()["helm.sh/resource-policy"]; ok {
			t.Errorf("CRD %s keeps a resource policy with crds.keep=false: %v", crd.GetName(), crd.GetAnnotations())
		}
	}
}

// TestValuesOff checks what turning leader election, metrics, the ServiceAccount, RBAC and the CRDs off leaves out.
func TestValuesOff(t *testing.T) {
	objs := render(t, valueSets[2].flags...)
	for _, kind := range []string{"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
		"Service", "ServiceMonitor", "CustomResourceDefinition", "PodDisruptionBudget"} {
		if kind == "Service" {
			// The test's own Service, a hook of helm test, is the only one.
			for _, svc := range find(objs, kind) {
				if svc.GetAnnotations()["helm.sh/hook"] != "test" {
					t.Errorf("Service %s rendered", svc.GetName())
				}
			}
			continue
		}
		if got := find(objs, kind); len(got) > 0 {
			t.Errorf("%s rendered: %s", kind, got[0].GetName())
		}
	}
	c := deployment(t, objs).Spec.Template.Spec.Containers[0]
	for _, want := range []string{"--leader-elect=false", "--metrics-bind-address=0"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %q lack %s", c.Args, want)
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "probes" {
		t.Errorf("ports %+v, want only probes", c.Ports)
	}
	// The chart's RBAC binds an existing ServiceAccount when it creates none.
	var binding rbacv1.ClusterRoleBinding
	one(t, render(t, "--set", "serviceAccount.create=false,serviceAccount.name=existing-operator"),
		"ClusterRoleBinding", "pier-manager", &binding)
	if s := binding.Subjects[0]; s.Name != "existing-operator" {
		t.Errorf("manager binding's subject %+v, want the existing ServiceAccount", s)
	}
}

// TestPodDisruptionBudget checks that the budget renders only for more than one replica, and as configured.
func TestPodDisruptionBudget(t *testing.T) {
	for _, c := range []struct {
		name           string
		set            string
		minAvailable   string // "" for none
		maxUnavailable string
	}{
		{"one replica", "replicaCount=1", "", ""},
		{"two replicas", "replicaCount=2", "1", ""},
		{"disabled", "replicaCount=2,podDisruptionBudget.enabled=false", "", ""},
		{"percentage", "replicaCount=3,podDisruptionBudget.minAvailable=,podDisruptionBudget.maxUnavailable=50%", "", "50%"},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs := render(t, "--set", c.set)
			pdbs := find(objs, "PodDisruptionBudget")
			if c.minAvailable == "" && c.maxUnavailable == "" {
				if len(pdbs) != 0 {
					t.Errorf("a PodDisruptionBudget rendered")
				}
				return
			}
			var pdb policyv1.PodDisruptionBudget
			one(t, objs, "PodDisruptionBudget", "pier", &pdb)
			if got := intOrString(pdb.Spec.MinAvailable); got != c.minAvailable {
				t.Errorf("minAvailable %q, want %q", got, c.minAvailable)
			}
			if got := intOrString(pdb.Spec.MaxUnavailable); got != c.maxUnavailable {
				t.Errorf("maxUnavailable %q, want %q", got, c.maxUnavailable)
			}
			if want := deployment(t, objs).Spec.Selector.MatchLabels; !reflect.DeepEqual(pdb.Spec.Selector.MatchLabels, want) {
				t.Errorf("selector %v, want the Deployment's %v", pdb.Spec.Selector.MatchLabels, want)
			}
		})
	}
}

func intOrString(v *intstr.IntOrString) string {
	if v == nil {
		return ""
	}
	return v.String()
}

// TestServiceMonitor checks that the ServiceMonitor renders only when enabled, and scrapes the way the metrics
// are served.
func TestServiceMonitor(t *testing.T) {
	if got := find(render(t), "ServiceMonitor"); len(got) != 0 {
		t.Errorf("a ServiceMonitor renders by default")
	}
	for _, c := range []struct {
		set    valueSet
		name   string
		scheme string
		port   string
	}{
		{valueSets[1], "files", "http", "http"},
		{valueSets[3], "pier", "https", "https"},
	} {
		t.Run(c.set.name, func(t *testing.T) {
			objs := render(t, c.set.flags...)
			if n := len(find(objs, "ServiceMonitor")); n != 1 {
				t.Fatalf("%d ServiceMonitors, want 1", n)
			}
			var sm unstructured.Unstructured
			one(t, objs, "ServiceMonitor", c.name, &sm.Object)
			endpoint := sm.Object["spec"].(map[string]any)["endpoints"].([]any)[0].(map[string]any)
			if endpoint["scheme"] != c.scheme || endpoint["port"] != c.port || endpoint["path"] != "/metrics" {
				t.Errorf("endpoint %v, want %s on port %s", endpoint, c.scheme, c.port)
			}
			if c.scheme == "https" && endpoint["bearerTokenFile"] == nil {
				t.Errorf("an HTTPS endpoint without the scraper's token: %v", endpoint)
			}
			if c.set.name == "all" && (endpoint["interval"] != "15s" || sm.GetLabels()["release"] != "prometheus") {
				t.Errorf("interval %v, labels %v", endpoint["interval"], sm.GetLabels())
			}
			// The ServiceMonitor must select the metrics Service and nothing else of the chart's.
			selector := sm.Object["spec"].(map[string]any)["selector"].(map[string]any)["matchLabels"].(map[string]any)
			for _, svc := range find(objs, "Service") {
				if svc.GetAnnotations()["helm.sh/hook"] == "test" {
					// helm test's own Service, which exists only while the test runs.
					if selects(selector, svc.GetLabels()) {
						t.Errorf("selector %v selects helm test's Service %s", selector, svc.GetName())
					}
					continue
				}
				if !selects(selector, svc.GetLabels()) {
					t.Errorf("selector %v misses Service %s %v", selector, svc.GetName(), svc.GetLabels())
				}
			}
		})
	}
}

// selftestPod is the name of the helm test Pod among objs (a hook: helm template renders it too).
func selftestPod(objs []*unstructured.Unstructured) string {
	for _, p := range find(objs, "Pod") {
		if p.GetAnnotations()["helm.sh/hook"] == "test" {
			return p.GetName()
		}
	}
	return ""
}

func selects(selector map[string]any, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestEveryValueIsChanged makes sure the non-default value files exercise every value the README lists (each key
// with a "# --" comment in values.yaml), so a new value cannot go untested.
func TestEveryValueIsChanged(t *testing.T) {
	content, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(content, &doc); err != nil {
		t.Fatal(err)
	}
	var documented [][]string
	var walk func(path []string, m *yamlv3.Node)
	walk = func(path []string, m *yamlv3.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			p := append(slices.Clone(path), k.Value)
			if strings.Contains(k.HeadComment, "# --") {
				documented = append(documented, p)
			} else if v.Kind == yamlv3.MappingNode {
				walk(p, v)
			}
		}
	}
	walk(nil, doc.Content[0])
	if len(documented) < 30 {
		t.Fatalf("found only %d documented values in values.yaml", len(documented))
	}

	defaults := loadValues(t, filepath.Join(chartDir, "values.yaml"))
	changers := []map[string]any{
		loadValues(t, filepath.Join("testdata", "values-all.yaml")),
		loadValues(t, filepath.Join("testdata", "values-off.yaml")),
		loadValues(t, filepath.Join("testdata", "values-metrics-certificate.yaml")),
	}
	for _, p := range documented {
		def, _ := lookup(defaults, p)
		changed := slices.ContainsFunc(changers, func(values map[string]any) bool {
			v, ok := lookup(values, p)
			return ok && !reflect.DeepEqual(v, def)
		})
		if !changed {
			t.Errorf("no testdata values file changes %s", strings.Join(p, "."))
		}
	}
}

func loadValues(t *testing.T, file string) map[string]any {
	t.Helper()
	content, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(content, &values); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return values
}

func lookup(values map[string]any, path []string) (any, bool) {
	var v any = values
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
}
