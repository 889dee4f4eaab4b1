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
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/version"
)

func TestSupports(t *testing.T) {
	server := version.MustParseGeneric("v1.37.2")
	for _, tc := range []struct {
		client string
		want   bool
	}{
		{"v1.37.0", true}, {"v1.36.9", true}, {"v1.38.1", true}, {"v1.37.2-dispatcher", true},
		{"v1.35.4", false}, {"v1.39.0", false}, {"v1.32.4-dispatcher", false}, {"v2.37.0", false},
	} {
		if got := supports(version.MustParseGeneric(tc.client), server); got != tc.want {
			t.Errorf("supports(%s, %s) = %v, want %v", tc.client, server, got, tc.want)
		}
	}
}

// fakeTools makes a KUBEBUILDER_ASSETS folder whose kube-apiserver says it is v1.37.2, a PATH folder, and a
// setup-envtest script that "builds" kubectl into a folder of its own and records that it ran.
type fakeTools struct {
	assets, path, script, built, ranFile string
}

func newFakeTools(t *testing.T) fakeTools {
	t.Helper()
	dir := t.TempDir()
	f := fakeTools{
		assets: filepath.Join(dir, "assets"), path: filepath.Join(dir, "path"),
		script: filepath.Join(dir, "setup-envtest.sh"), built: filepath.Join(dir, "built"),
		ranFile: filepath.Join(dir, "ran"),
	}
	for _, d := range []string{f.assets, f.path, f.built} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeScript(t, filepath.Join(f.assets, "kube-apiserver"), `echo "Kubernetes v1.37.2"`)
	writeScript(t, f.script, fmt.Sprintf(`echo "$@" > %s
/bin/cp %s %s/kubectl
echo %s`, f.ranFile, filepath.Join(f.assets, "kube-apiserver"), f.built, f.built))
	t.Setenv("KUBEBUILDER_ASSETS", f.assets)
	// Only the fakes: the scripts use shell builtins and absolute paths, and this machine's own kubectl is hidden.
	t.Setenv("PATH", f.path)
	return f
}

// kubectlOnPath puts a kubectl of the given version on PATH.
func (f fakeTools) kubectlOnPath(t *testing.T, gitVersion string) string {
	t.Helper()
	file := filepath.Join(f.path, "kubectl")
	writeScript(t, file, fmt.Sprintf(`[ "$*" = "version --client -o json" ] || exit 3
echo '{"clientVersion": {"major": "1", "minor": "x", "gitVersion": "%s"}, "kustomizeVersion": "v5.5.0"}'`, gitVersion))
	return file
}

func writeScript(t *testing.T, file, body string) {
	t.Helper()
	if err := os.WriteFile(file, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// choose runs chooseKubectl with kubectl given (or not, when empty) and the fake setup-envtest script.
func (f fakeTools) choose(given string) (kubectl, error) {
	return chooseKubectl(context.Background(), slog.New(slog.DiscardHandler), given, f.script)
}

func (f fakeTools) ranSetupEnvtest(t *testing.T) bool {
	t.Helper()
	_, err := os.Stat(f.ranFile)
	return err == nil
}

func TestChooseKubectlOnPath(t *testing.T) {
	t.Run("on PATH and within one minor version", func(t *testing.T) {
		f := newFakeTools(t)
		want := f.kubectlOnPath(t, "v1.36.3")
		got, err := f.choose("")
		if err != nil || got.path != want || !strings.Contains(got.origin, "PATH") || !strings.Contains(got.origin, "1.36.3") {
			t.Fatalf("chooseKubectl = %+v, %v; want %s, saying it is the one on PATH and its version", got, err, want)
		}
		if f.ranSetupEnvtest(t) {
			t.Error("it built a kubectl although the one on PATH fits")
		}
	})
	t.Run("control plane built from source, without version stamps", func(t *testing.T) {
		f := newFakeTools(t)
		writeScript(t, filepath.Join(f.assets, "kube-apiserver"), `echo 'Kubernetes v0.0.0-master+$Format:%H$'`)
		t.Setenv("ENVTEST_K8S_VERSION", "1.37.2")
		want := f.kubectlOnPath(t, "v1.38.0")
		got, err := f.choose("")
		if err != nil || got.path != want {
			t.Fatalf("chooseKubectl = %+v, %v; want %s: v1.38 supports the v1.37.2 control plane", got, err, want)
		}
		t.Setenv("ENVTEST_K8S_VERSION", "")
		if got, err := f.choose(""); err == nil || !strings.Contains(err.Error(), "-kubectl") {
			t.Fatalf("chooseKubectl with no way to tell the control plane's version = %+v, %v; want an error "+
				"that says what to do", got, err)
		}
	})
}

func TestChooseKubectlBuilt(t *testing.T) {
	t.Run("on PATH but too old: built", func(t *testing.T) {
		f := newFakeTools(t)
		f.kubectlOnPath(t, "v1.32.4-dispatcher")
		got, err := f.choose("")
		if err != nil || got.path != filepath.Join(f.built, "kubectl") || !strings.Contains(got.origin, "built") {
			t.Fatalf("chooseKubectl = %+v, %v; want the one setup-envtest built", got, err)
		}
		if ran, _ := os.ReadFile(f.ranFile); !strings.Contains(string(ran), "--with-kubectl") {
			t.Errorf("setup-envtest ran with %q, want --with-kubectl", ran)
		}
	})
	t.Run("none on PATH, built before", func(t *testing.T) {
		f := newFakeTools(t)
		writeScript(t, filepath.Join(f.assets, "kubectl"), "exit 0")
		got, err := f.choose("")
		if err != nil || got.path != filepath.Join(f.assets, "kubectl") {
			t.Fatalf("chooseKubectl = %+v, %v; want the one in KUBEBUILDER_ASSETS", got, err)
		}
		if f.ranSetupEnvtest(t) {
			t.Error("it built a kubectl although KUBEBUILDER_ASSETS has one")
		}
	})
	t.Run("on PATH but broken: built", func(t *testing.T) {
		f := newFakeTools(t)
		writeScript(t, filepath.Join(f.path, "kubectl"), "echo not json")
		got, err := f.choose("")
		if err != nil || got.path != filepath.Join(f.built, "kubectl") {
			t.Fatalf("chooseKubectl = %+v, %v; want the one setup-envtest built", got, err)
		}
	})
}

func TestChooseKubectlGivenOrUnknown(t *testing.T) {
	t.Run("given", func(t *testing.T) {
		f := newFakeTools(t)
		f.kubectlOnPath(t, "v1.37.0")
		got, err := f.choose("/opt/kubectl")
		if err != nil || got.path != "/opt/kubectl" {
			t.Fatalf("chooseKubectl = %+v, %v; want the one given", got, err)
		}
	})
	t.Run("the build fails", func(t *testing.T) {
		f := newFakeTools(t)
		writeScript(t, f.script, "echo 'no network' >&2; exit 1")
		if got, err := f.choose(""); err == nil || !strings.Contains(err.Error(), "--with-kubectl") {
			t.Fatalf("chooseKubectl = %+v, %v; want an error naming the build", got, err)
		}
	})
	t.Run("no control plane", func(t *testing.T) {
		t.Setenv("KUBEBUILDER_ASSETS", "")
		if _, err := (fakeTools{script: "unused"}).choose(""); err == nil || !strings.Contains(err.Error(), "make demo") {
			t.Fatalf("chooseKubectl without KUBEBUILDER_ASSETS: %v, want an error that says to run make demo", err)
		}
	})
}
