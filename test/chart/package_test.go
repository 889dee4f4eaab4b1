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
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// TestPackagePushPull packages the chart as `make helm-package` does, pushes the package to an OCI registry (an
// in-memory one on 127.0.0.1) as docs/install.md tells a release to, pulls it back, and checks that the pulled
// chart is the pushed one and renders what the chart's folder renders.
func TestPackagePushPull(t *testing.T) {
	dir := t.TempDir()
	if _, err := helm("package", chartDir, "--destination", dir); err != nil {
		t.Fatal(err)
	}
	version := chartVersion(t)
	pkg := filepath.Join(dir, "pier-"+version+".tgz")
	pushed, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatalf("helm package wrote no %s: %v", filepath.Base(pkg), err)
	}

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	repo := "oci://" + strings.TrimPrefix(reg.URL, "http://") + "/charts"
	if _, err := helm("push", pkg, repo, "--plain-http"); err != nil {
		t.Fatal(err)
	}

	pulled := filepath.Join(dir, "pulled")
	if err := os.Mkdir(pulled, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := helm("pull", repo+"/pier", "--version", version, "--plain-http", "--destination", pulled); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(pulled, "pier-"+version+".tgz"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pushed) {
		t.Errorf("the chart pulled from the registry differs from the package pushed")
	}

	// The package holds the whole chart: it renders what the folder renders, helm test and CRDs included.
	fromFolder := render(t)
	out, err := helm("template", release, filepath.Join(pulled, "pier-"+version+".tgz"), "--namespace", namespace,
		"--kube-version", kubeVersion())
	if err != nil {
		t.Fatal(err)
	}
	fromPackage, err := decodeAll([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(fromPackage) != len(fromFolder) {
		t.Fatalf("the package renders %d objects, the folder %d", len(fromPackage), len(fromFolder))
	}
	for i := range fromFolder {
		if !reflect.DeepEqual(fromPackage[i].Object, fromFolder[i].Object) {
			t.Errorf("the package renders %s %s differently from the folder", fromFolder[i].GetKind(), fromFolder[i].GetName())
		}
	}
}

// chartVersion reads Chart.yaml's version, which names the package.
func chartVersion(t *testing.T) string {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(content), "\n") {
		if v, ok := strings.CutPrefix(line, "version: "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("Chart.yaml has no version")
	return ""
}
