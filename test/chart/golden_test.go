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
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/ with what the chart renders now")

// goldenSets are the installs whose whole output is kept in testdata/golden/, so that a review sees every object
// a change to the chart adds, drops or alters: the value sets, and a namespaced install.
var goldenSets = append(valueSets[:len(valueSets):len(valueSets)],
	valueSet{"namespaced", []string{"--set", "watchNamespaces={team-a,team-b}"}})

// TestGolden compares what helm template renders with testdata/golden/NAME.yaml. The CRDs are left out
// (TestCRDsMatchConfig holds them to config/crd/bases), and the chart's version is written VERSION, so that a
// release does not rewrite the files. `go test ./test/chart -run TestGolden -update` rewrites them.
func TestGolden(t *testing.T) {
	version := chartVersion(t)
	for _, vs := range goldenSets {
		t.Run(vs.name, func(t *testing.T) {
			out, err := helm(append([]string{"template", release, chartDir, "--namespace", namespace,
				"--kube-version", kubeVersion()}, vs.flags...)...)
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, doc := range strings.Split(out, "\n---\n") {
				if !strings.Contains(doc, "\nkind: CustomResourceDefinition\n") {
					kept = append(kept, doc)
				}
			}
			got := []byte(strings.ReplaceAll(strings.Join(kept, "\n---\n"), version, "VERSION"))
			file := filepath.Join("testdata", "golden", vs.name+".yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run `go test ./test/chart -run TestGolden -update` to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("helm template differs from %s; review the change and rerun with -update:\n%s", file, firstDifference(want, got))
			}
		})
	}
}

// firstDifference shows the first line where got leaves want, with a little context.
func firstDifference(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		if i >= len(w) || i >= len(g) || w[i] != g[i] {
			from := max(0, i-3)
			return "want:\n  " + strings.Join(w[from:min(len(w), i+4)], "\n  ") + "\ngot:\n  " + strings.Join(g[from:min(len(g), i+4)], "\n  ")
		}
	}
	return ""
}
