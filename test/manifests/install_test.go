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

package manifests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

const (
	namespace      = "pier-system"
	deploymentName = "pier-controller-manager"
	serviceAccount = "pier-controller-manager"
	metricsService = "pier-controller-manager-metrics-service"
	// serverImageEnv holds the pier-server image the manager deploys; its --server-image argument refers to it.
	serverImageEnv = "PIER_SERVER_IMAGE"
)

// TestInstallYAMLIsCurrent: dist/install.yaml is exactly what kustomize builds from config/default today, below
// its one-line header, so `kubectl apply -f dist/install.yaml` and `kubectl apply -k config/default` install the
// same thing. (make verify-generated checks the same from the Makefile's side.)
func TestInstallYAMLIsCurrent(t *testing.T) {
	data, err := os.ReadFile(installFile)
	if err != nil {
		t.Fatal(err)
	}
	header, body, _ := bytes.Cut(data, []byte("\n"))
	if !bytes.HasPrefix(header, []byte("# pier ")) {
		t.Errorf("the first line is not the generated header: %q", header)
	}
	built := kustomizeBuild(t, filepath.Join(controlplane.RepoRoot(), "config", "default"))
	if !bytes.Equal(body, built) {
		t.Fatal("dist/install.yaml differs from `kustomize build config/default`: run `make build-installer` and commit it")
	}
}

// TestInstallYAMLContents lists what the installer creates, so that adding or losing an object is a decision.
func TestInstallYAMLContents(t *testing.T) {
	objs := installObjects(t)
	got := make([]string, 0, len(objs))
	for _, o := range objs {
		name := o.GetName()
		if o.GetKind() == "ConfigMap" {
			// kustomize's configMapGenerator ends the name with a hash of the content, which changes with it.
			name = name[:strings.LastIndex(name, "-")+1] + "<hash>"
		}
		got = append(got, fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), name))
		if o.GetLabels()["app.kubernetes.io/part-of"] != "pier" {
			t.Errorf("%s %s lacks the label app.kubernetes.io/part-of=pier", o.GetKind(), o.GetName())
		}
	}
	want := []string{
		"Namespace /pier-system",
		"CustomResourceDefinition /transferendpoints.transfer.pier.dev",
		"CustomResourceDefinition /transferusers.transfer.pier.dev",
		"ServiceAccount pier-system/pier-controller-manager",
		"Role pier-system/pier-leader-election-role",
		"ClusterRole /pier-manager-role",
		"ClusterRole /pier-metrics-auth-role",
		"ClusterRole /pier-metrics-reader",
		// Aggregated into Kubernetes' admin, edit and view roles (test/tenancy).
		"ClusterRole /pier-editor",
		"ClusterRole /pier-viewer",
		"RoleBinding pier-system/pier-leader-election-rolebinding",
		"ClusterRoleBinding /pier-manager-rolebinding",
		"ClusterRoleBinding /pier-metrics-auth-rolebinding",
		"Service pier-system/pier-controller-manager-metrics-service",
		"ConfigMap pier-system/pier-endpoint-defaults-<hash>",
		"Deployment pier-system/pier-controller-manager",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("dist/install.yaml holds:%s\nwant:%s", joinLines(got), joinLines(want))
	}
}

// TestInstallYAMLApplies applies dist/install.yaml to a fresh API server: the Namespace and CRDs for real, the
// rest as a server-side dry run, which the API server must accept without a warning. The namespace enforces (and
// warns about) the restricted Pod Security Standard, so a manager pod template that broke it would warn here.
// Then pier's own samples must be accepted by the CRDs just installed and cert-manager's, whose Issuers and
// Certificates they hold.
func TestInstallYAMLApplies(t *testing.T) {
	objs := installObjects(t)
	if warnings := install(t, objs); len(warnings) > 0 {
		t.Errorf("the API server warned:%s", joinLines(warnings))
	}

	ns := find(t, objs, "Namespace", namespace)
	for key, want := range map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	} {
		if got := ns.GetLabels()[key]; got != want {
			t.Errorf("namespace label %s is %q, want %q", key, got, want)
		}
	}

	samplesDir := filepath.Join(controlplane.RepoRoot(), "config", "samples")
	samples := readObjects(t, kustomizeBuild(t, samplesDir))
	if len(samples) == 0 {
		t.Fatal("config/samples builds to nothing")
	}
	for _, s := range samples {
		s.SetNamespace(namespace)
	}
	if warnings := install(t, append(certManagerCRDs(t), samples...)); len(warnings) > 0 {
		t.Errorf("the API server warned about the samples:%s", joinLines(warnings))
	}
}

// TestPodSecurityWarningsAreSeen makes sure the check above can fail: the manager's Deployment without its
// security contexts, dry-run into the same namespace, draws Pod Security warnings.
func TestPodSecurityWarningsAreSeen(t *testing.T) {
	objs := installObjects(t)
	install(t, []*unstructured.Unstructured{find(t, objs, "Namespace", namespace)})
	bad := find(t, objs, "Deployment", deploymentName).DeepCopy()
	bad.SetName("insecure-manager")
	unstructured.RemoveNestedField(bad.Object, "spec", "template", "spec", "securityContext")
	containers, _, _ := unstructured.NestedSlice(bad.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		delete(c.(map[string]any), "securityContext")
	}
	if err := unstructured.SetNestedSlice(bad.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
	warnings := install(t, []*unstructured.Unstructured{bad})
	if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, "violate PodSecurity") }) {
		t.Errorf("no Pod Security warning for a Deployment without security contexts; warnings:%s", joinLines(warnings))
	}
}

// managerDeployment is the manager's Deployment in dist/install.yaml.
func managerDeployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	fromUnstructured(t, find(t, installObjects(t), "Deployment", deploymentName), d)
	return d
}

// TestManagerPodSecurity checks the manager's pod against the restricted Pod Security Standard as the API
// server's admission evaluates it (k8s.io/pod-security-admission, latest version), plus what pier asks for beyond
// it: the distroless nonroot uid and a read-only root file system.
func TestManagerPodSecurity(t *testing.T) {
	spec := managerDeployment(t).Spec.Template.Spec
	for _, problem := range restrictedViolations(t, spec) {
		t.Error(problem)
	}
	if sc := spec.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
		t.Error("the pod does not run as uid 65532 (the images' nonroot user)")
	}
	for _, c := range spec.Containers {
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %s: root file system is writable", c.Name)
		}
	}
}

// TestRestrictedCheckCatchesViolations makes sure restrictedViolations can fail.
func TestRestrictedCheckCatchesViolations(t *testing.T) {
	spec := managerDeployment(t).Spec.Template.Spec
	spec.SecurityContext = nil
	for i := range spec.Containers {
		spec.Containers[i].SecurityContext = nil
	}
	problems := restrictedViolations(t, spec)
	for _, want := range []string{"allowPrivilegeEscalation", "runAsNonRoot", "seccompProfile", "capabilities"} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("no problem mentions %q in %v", want, problems)
		}
	}
}

func restrictedViolations(t *testing.T, spec corev1.PodSpec) []string {
	t.Helper()
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatalf("building the Pod Security evaluator: %v", err)
	}
	var problems []string
	level := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	for _, result := range evaluator.EvaluatePod(level, &metav1.ObjectMeta{}, &spec) {
		if !result.Allowed {
			problems = append(problems, fmt.Sprintf("restricted: %s: %s", result.ForbiddenReason, result.ForbiddenDetail))
		}
	}
	return problems
}

// TestManagerArguments: the manager elects a leader, serves metrics on :8443, and deploys the pier-server image
// of its own release: same registry and tag as its own image.
func TestManagerArguments(t *testing.T) {
	d := managerDeployment(t)
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	if missing := missingFrom(c.Args, "--leader-elect", "--metrics-bind-address=:8443",
		"--health-probe-bind-address=:8081", "--server-image=$("+serverImageEnv+")"); len(missing) > 0 {
		t.Errorf("the manager's arguments %v lack %v", c.Args, missing)
	}
	if !slices.Equal(c.Command, []string{"/manager"}) {
		t.Errorf("command is %v, want the image's /manager", c.Command)
	}

	registry, tag, ok := splitImage(c.Image, "pier-manager")
	if !ok {
		t.Fatalf("the manager image %q is not REGISTRY/pier-manager:VERSION", c.Image)
	}
	var serverImage string
	for _, e := range c.Env {
		if e.Name == serverImageEnv {
			serverImage = e.Value
		}
	}
	if want := registry + "/pier-server:" + tag; serverImage != want {
		t.Errorf("the manager deploys pier-server %q, want %q (the manager's registry and tag)", serverImage, want)
	}
	data, err := os.ReadFile(installFile)
	if err != nil {
		t.Fatal(err)
	}
	if header := "# pier " + tag + ":"; !bytes.HasPrefix(data, []byte(header)) {
		t.Errorf("dist/install.yaml does not start with %q, the version of its images", header)
	}

	if c.LivenessProbe == nil || c.ReadinessProbe == nil {
		t.Error("the manager has no liveness or readiness probe")
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("the manager has no memory request or limit")
	}
	if d.Spec.Template.Spec.ServiceAccountName != serviceAccount {
		t.Errorf("service account %q, want %q", d.Spec.Template.Spec.ServiceAccountName, serviceAccount)
	}
}

// splitImage splits REGISTRY/NAME:TAG.
func splitImage(image, name string) (registry, tag string, ok bool) {
	rest, tag, ok := strings.Cut(image, "/"+name+":")
	if !ok || rest == "" || tag == "" || strings.Contains(tag, "/") {
		return "", "", false
	}
	return rest, tag, true
}

// TestMetricsService: the metrics Service selects the manager's pods and reaches its HTTPS metrics port.
func TestMetricsService(t *testing.T) {
	d := managerDeployment(t)
	svc := &corev1.Service{}
	fromUnstructured(t, find(t, installObjects(t), "Service", metricsService), svc)
	if len(svc.Spec.Selector) == 0 ||
		!labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("the Service's selector %v does not select the manager's pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("want one port, got %v", svc.Spec.Ports)
	}
	p := svc.Spec.Ports[0]
	if p.Name != "https" || p.Port != 8443 {
		t.Errorf("the Service's port is %s/%d, want https/8443", p.Name, p.Port)
	}
	found := false
	for _, cp := range d.Spec.Template.Spec.Containers[0].Ports {
		if cp.Name == p.TargetPort.String() && cp.ContainerPort == 8443 {
			found = true
		}
	}
	if !found {
		t.Errorf("the Service's targetPort %s is not the manager's container port 8443", p.TargetPort.String())
	}
}

// TestRBACSubjects: every binding grants its role to the manager's service account in pier-system.
func TestRBACSubjects(t *testing.T) {
	for _, o := range installObjects(t) {
		if o.GetKind() != "RoleBinding" && o.GetKind() != "ClusterRoleBinding" {
			continue
		}
		b := &rbacv1.ClusterRoleBinding{} // the fields read here are the same in a RoleBinding
		fromUnstructured(t, o, b)
		want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: serviceAccount, Namespace: namespace}}
		if !slices.Equal(b.Subjects, want) {
			t.Errorf("%s %s binds %v, want %v", o.GetKind(), o.GetName(), b.Subjects, want)
		}
	}
}
