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

package chart

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/testsupport/helmchart"
)

// TestServerSideDryRun installs the chart's CRDs (for real) into a real API server and applies everything each
// value set renders with a server-side dry-run and strict field validation, as `helm install` and
// `kubectl apply --server-side` would: the API server's own validation of every object, CRDs' schemas included.
func TestServerSideDryRun(t *testing.T) {
	cluster := startAPIServer(t)
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			for _, obj := range render(t, vs.flags...) {
				cluster.dryRunApply(t, obj)
			}
		})
	}

	// helm itself installs against the API server (dry-run: nothing is created) and prints NOTES.txt.
	chart, err := helmchart.ForServer(cluster.discovery, chartDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, vs := range valueSets {
		t.Run("helm install "+vs.name, func(t *testing.T) {
			args := slices.Concat([]string{"install", release, chart, "--namespace", namespace,
				"--dry-run=server", "--kubeconfig", cluster.kubeconfig}, vs.flags)
			out, err := helm(args...)
			if err != nil {
				t.Fatal(err)
			}
			_, notes, found := strings.Cut(out, "NOTES:")
			if !found {
				t.Fatalf("helm install printed no NOTES:\n%s", out)
			}
			for _, want := range []string{"kubectl get te,tu", "helm test " + release} {
				if !strings.Contains(notes, want) {
					t.Errorf("NOTES do not say %q:\n%s", want, notes)
				}
			}
			if vs.name == "default" {
				t.Logf("NOTES:%s", notes)
			}
			if strings.Contains(notes, "<no value>") {
				t.Errorf("NOTES refer to a missing value:\n%s", notes)
			}
		})
	}

	// What the helm test Pod runs, against this API server, with a stand-in for the manager's readiness endpoint.
	t.Run("helm test", func(t *testing.T) { checkSelftest(t, cluster) })

	// The example NOTES.txt tells users to apply must be valid too.
	t.Run("NOTES example", func(t *testing.T) {
		notes, err := os.ReadFile(filepath.Join(chartDir, "templates", "NOTES.txt"))
		if err != nil {
			t.Fatal(err)
		}
		// The here-document's last line must be exactly YAML, or a pasted example never ends.
		m := regexp.MustCompile(`(?s)\nkubectl apply -f - <<'YAML'\n(.*?)\nYAML\n`).FindSubmatch(notes)
		if m == nil {
			t.Fatal("NOTES.txt has no `kubectl apply -f - <<'YAML'` example ending in a line YAML")
		}
		objs, err := decodeAll(m[1])
		if err != nil {
			t.Fatalf("reading the NOTES.txt example: %v\n%s", err, m[1])
		}
		if len(objs) != 2 {
			t.Fatalf("the NOTES.txt example has %d objects, want a TransferEndpoint and a TransferUser", len(objs))
		}
		for _, obj := range objs {
			obj.SetNamespace(namespace)
			cluster.dryRunApply(t, obj)
		}
	})
}

// apiServer is a running envtest control plane with the chart's CRDs and the release namespace.
type apiServer struct {
	client     client.Client
	discovery  discovery.DiscoveryInterface
	dynamic    *dynamic.DynamicClient
	kubeconfig string // an administrator's, for helm
}

// watchedNamespaces are the namespaces of values-all.yaml's watchNamespaces, which exist before an install.
var watchedNamespaces = []string{"team-a", "team-b"}

// startAPIServer starts kube-apiserver and etcd from KUBEBUILDER_ASSETS, installs the CRDs the chart renders, the
// prometheus-operator's ServiceMonitor, PodMonitor and PrometheusRule CRDs and cert-manager's, and creates the
// release namespace (which exists before an install: helm install --create-namespace, or the user) and
// watchedNamespaces. The control plane stops when the test ends.
func startAPIServer(t *testing.T) *apiServer {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test-chart`, or " +
			"`export KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh)` before `go test`")
	}
	monitoringCRDs, err := controlplane.MonitoringCRDFiles()
	if err != nil {
		t.Fatal(err)
	}
	// cert-manager's, for metrics.certificate's Issuer and Certificate.
	certManagerCRDs, err := controlplane.CertManagerCRDDir()
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths:              append([]string{certManagerCRDs}, monitoringCRDs...),
			CRDs:               chartCRDs(t),
			ErrorIfPathMissing: true,
		},
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })

	installed := make([]string, 0, len(env.CRDs))
	for _, crd := range env.CRDs {
		installed = append(installed, crd.Name)
	}
	for _, want := range []string{"transferendpoints.transfer.pier.dev", "transferusers.transfer.pier.dev", "servicemonitors.monitoring.coreos.com",
		"podmonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"} {
		if !slices.Contains(installed, want) {
			t.Fatalf("CRD %s was not installed; installed: %v", want, installed)
		}
	}

	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range append([]string{namespace}, watchedNamespaces...) {
		if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	// values-all.yaml's priorityClassName, which the API server checks when the helm test Pod is created.
	if err := c.Create(context.Background(), &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "pier-critical"}, Value: 1000}); err != nil {
		t.Fatal(err)
	}
	admin, err := env.AddUser(envtest.User{Name: "helm", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(file, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &apiServer{client: c, discovery: dc, dynamic: dyn, kubeconfig: file}
}

// chartCRDs are the CRDs the chart renders by default, as a `helm install` would create them: owned by the
// release, so that helm install --dry-run=server below finds them its own.
func chartCRDs(t *testing.T) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	rendered := find(render(t), "CustomResourceDefinition")
	crds := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(rendered))
	for _, o := range rendered {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, crd); err != nil {
			t.Fatalf("CRD %s: %v", o.GetName(), err)
		}
		metav1.SetMetaDataAnnotation(&crd.ObjectMeta, "meta.helm.sh/release-name", release)
		metav1.SetMetaDataAnnotation(&crd.ObjectMeta, "meta.helm.sh/release-namespace", namespace)
		crds = append(crds, crd)
	}
	if len(crds) == 0 {
		t.Fatal("the chart renders no CRDs")
	}
	return crds
}

// dryRunApply sends obj as a server-side apply with dryRun=All and strict field validation.
func (a *apiServer) dryRunApply(t *testing.T, obj *unstructured.Unstructured) {
	t.Helper()
	gvk := obj.GroupVersionKind()
	mapping, err := a.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Errorf("%s %s: %v", gvk.Kind, obj.GetName(), err)
		return
	}
	resource := dynamic.ResourceInterface(a.dynamic.Resource(mapping.Resource))
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		// The chart names the namespace itself, so `helm template | kubectl apply` lands in the right place too.
		if obj.GetNamespace() == "" {
			t.Errorf("%s %s has no metadata.namespace", gvk.Kind, obj.GetName())
			obj.SetNamespace(namespace)
		}
		resource = a.dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	}
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	force := true // take over fields from other managers, as helm does
	_, err = resource.Patch(context.Background(), obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
		FieldManager:    "helm",
		Force:           &force,
		DryRun:          []string{metav1.DryRunAll},
		FieldValidation: metav1.FieldValidationStrict,
	})
	if err != nil {
		t.Errorf("server-side dry-run of %s %s: %v", gvk.Kind, obj.GetName(), err)
	}
}

// checkSelftest runs the helm test Pod's command line, `/manager selftest --ready-url=...`, with an administrator's
// kubeconfig against the API server (which serves the chart's CRDs) and a readiness endpoint that answers 200, then
// one that answers 500.
func checkSelftest(t *testing.T, cluster *apiServer) {
	manager := buildManager(t)
	objs := render(t)
	var pod corev1.Pod
	one(t, objs, "Pod", selftestPod(objs), &pod)
	args := pod.Spec.Containers[0].Args
	// The Pod asks the probes Service: here the stand-in answers instead.
	i := slices.IndexFunc(args, func(a string) bool {
		return strings.HasPrefix(a, "--ready-url=http://pier-probes.pier-system.svc:8081/")
	})
	if i < 0 {
		t.Fatalf("the helm test Pod's args %q do not ask the probes Service", args)
	}
	var status atomic.Int32
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(ready.Close)
	args = slices.Clone(args)
	args[i] = "--ready-url=" + ready.URL + "/readyz"

	for _, c := range []struct {
		status   int32
		exitCode int
		want     string
	}{
		{http.StatusOK, 0, "a manager is ready"},
		{http.StatusInternalServerError, 1, "is not ready: 500"},
	} {
		status.Store(c.status)
		cmd := exec.Command(manager, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.kubeconfig)
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != c.exitCode || !strings.Contains(string(out), c.want) {
			t.Errorf("readiness %d: exit status %d (%v), want %d saying %q:\n%s", c.status, code, err, c.exitCode, c.want, out)
		}
		if c.status == http.StatusOK && !strings.Contains(string(out), "serves transfer.pier.dev/v1alpha1") {
			t.Errorf("selftest did not check the CRDs:\n%s", out)
		}
	}
}
