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
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

// fieldOwner is the field manager of everything these tests apply, as `kubectl apply --server-side` uses
// "kubectl".
const fieldOwner = "pier-manifests-test"

// installFile is the file `make build-installer` writes and users `kubectl apply -f`.
var installFile = filepath.Join(controlplane.RepoRoot(), "dist", "install.yaml")

// readObjects splits a multi-document YAML file into objects, skipping empty documents.
func readObjects(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("reading YAML: %v", err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			t.Fatalf("parsing a YAML document: %v\n%s", err, doc)
		}
		if len(obj.Object) == 0 {
			continue
		}
		objs = append(objs, obj)
	}
}

// installObjects are the objects of dist/install.yaml.
func installObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(installFile)
	if err != nil {
		t.Fatalf("reading %s (written by `make build-installer`): %v", installFile, err)
	}
	return readObjects(t, data)
}

// kustomizeBuild runs the pinned kustomize (the Makefile exports its path as KUSTOMIZE) on dir.
func kustomizeBuild(t *testing.T, dir string) []byte {
	t.Helper()
	binary := os.Getenv("KUSTOMIZE")
	if binary == "" {
		t.Fatal("KUSTOMIZE is not set: run `make test-manifests`, or `export KUSTOMIZE=$(make -s kustomize)` " +
			"before `go test`")
	}
	cmd := exec.Command(binary, "build", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kustomize build %s: %v\n%s", dir, err, stderr.String())
	}
	return out
}

// find returns the one object of kind and name in objs, failing the test when there is none.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s among the objects", kind, name)
	return nil
}

// fromUnstructured converts u into the typed object into.
func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("converting %s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// warningRecorder keeps the warnings the API server returns (such as Pod Security admission's "would violate
// PodSecurity"), which a client otherwise only logs.
type warningRecorder struct {
	mu       sync.Mutex
	warnings []string
}

func (w *warningRecorder) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

func (w *warningRecorder) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.warnings)
}

// newClient is a client of the shared control plane whose warnings the returned recorder keeps.
func newClient(t *testing.T) (client.Client, *warningRecorder) {
	t.Helper()
	recorder := &warningRecorder{}
	c := rest.CopyConfig(cfg)
	c.WarningHandlerWithContext = recorder
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	k8s, err := client.New(c, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("creating a client: %v", err)
	}
	return k8s, recorder
}

// install applies objs as `kubectl apply --server-side` does, in two steps. Namespaces and
// CustomResourceDefinitions are applied for real, because a namespaced object needs its namespace and a custom
// object its CRD even in a dry run. Everything else is applied as a dry run (DryRun=All): the API server decodes,
// validates, defaults and admits each object (Pod Security admission included) without storing it. It returns the
// warnings of the dry run.
func install(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	k8s, warnings := newClient(t)
	ctx := context.Background()
	var others []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() != "Namespace" && o.GetKind() != "CustomResourceDefinition" {
			others = append(others, o)
			continue
		}
		if err := apply(ctx, k8s, o, false); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		if o.GetKind() == "CustomResourceDefinition" {
			waitEstablished(t, k8s, o.GetName())
		}
	}
	before := len(warnings.all())
	for _, o := range others {
		if err := apply(ctx, k8s, o, true); err != nil {
			t.Errorf("dry-run applying %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return warnings.all()[before:]
}

// apply is a server-side apply of o, as a dry run or for real. Apply requests always validate fields strictly, so
// a misspelled or unknown field is an error, not a warning.
func apply(ctx context.Context, k8s client.Client, o *unstructured.Unstructured, dryRun bool) error {
	opts := []client.ApplyOption{client.FieldOwner(fieldOwner), client.ForceOwnership}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	return k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), opts...)
}

// waitEstablished waits until the CRD serves its kind, and until the client's discovery knows it.
func waitEstablished(t *testing.T, k8s client.Client, name string) {
	t.Helper()
	poll.Until(t, "CRD "+name+" established", 30*time.Second, func() error {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, crd); err != nil {
			return err
		}
		established := false
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				established = true
			}
		}
		if !established {
			return fmt.Errorf("not established yet: %v", crd.Status.Conditions)
		}
		gk := schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}
		_, err := k8s.RESTMapper().RESTMapping(gk)
		return err
	})
}

// missingFrom lists the items of want that list lacks.
func missingFrom(list []string, want ...string) []string {
	var missing []string
	for _, w := range want {
		if !slices.Contains(list, w) {
			missing = append(missing, w)
		}
	}
	return missing
}

// joinLines is a readable form of a list in failure messages.
func joinLines(list []string) string { return "\n  " + strings.Join(list, "\n  ") }
