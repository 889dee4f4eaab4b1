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

package render

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/internal/serverconfig"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")

// rendered is everything rendered for one golden case.
type rendered struct {
	// config is the server configuration, and configYAML its marshalled form (the config Secret's content).
	config     *serverconfig.Config
	configYAML []byte
	// files maps each golden file name to its content.
	files map[string][]byte
	// objects maps each golden file name of a Kubernetes object to the object.
	objects map[string]any
}

// testHostKeys stand in for the keys the reconciler generates; rendering copies them without reading them.
func testHostKeys() map[string][]byte {
	keys := map[string][]byte{}
	for _, name := range generatedHostKeyNames {
		keys[name] = []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n(" + name + ": not a real key)\n-----END OPENSSH PRIVATE KEY-----\n")
	}
	return keys
}

// renderCase renders every child object of the case the way the reconciler does, leaving out those that a render
// function returns nil for.
func renderCase(t *testing.T, c goldenCase) rendered {
	t.Helper()
	te := c.endpoint
	cfg := ServerConfig(te, ConfigInputs{
		Users:            c.users,
		HostKeyNames:     c.hostKeyNames,
		PassiveAddresses: c.passiveAddresses,
	})
	data, err := cfg.Marshal()
	if err != nil {
		t.Fatalf("marshalling the server configuration: %v", err)
	}
	r := rendered{config: cfg, configYAML: data, files: map[string][]byte{}, objects: map[string]any{}}
	add := func(file string, obj any) {
		out, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatalf("marshalling %s: %v", file, err)
		}
		r.files[file] = out
		r.objects[file] = obj
	}

	// The configuration itself, readable; config-secret.yaml holds the same bytes base64-encoded.
	r.files["server-config.yaml"] = data
	add("config-secret.yaml", ConfigSecret(te, data, false, nil))
	if NamesFor(te).GeneratedHostKeys {
		add("host-keys-secret.yaml", HostKeysSecret(te, testHostKeys()))
	}
	add("deployment.yaml", Deployment(te, DeploymentInputs{
		Image:           testImage,
		ImagePullPolicy: c.imagePullPolicy,
		PodDefaults:     c.podDefaults,
		RestartHash:     RestartHash(cfg),
	}))
	add("service.yaml", Service(te))
	if pvc := PersistentVolumeClaim(te); pvc != nil {
		add("persistentvolumeclaim.yaml", pvc)
	}
	if pdb := PodDisruptionBudget(te); pdb != nil {
		add("poddisruptionbudget.yaml", pdb)
	}
	if cert := Certificate(te); cert != nil {
		add("certificate.yaml", cert)
	}
	add("serviceaccount.yaml", ServiceAccount(te))
	add("role.yaml", Role(te))
	add("rolebinding.yaml", RoleBinding(te))
	return r
}

// TestGolden compares every rendered object with testdata/<case>/<file>.yaml. Run
// `go test ./internal/controller/render -update` to rewrite the files after an intended change, and review the diff.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("testdata", c.name)
			r := renderCase(t, c)
			if *update {
				writeGolden(t, dir, r.files)
				return
			}
			for _, file := range sortedKeys(r.files) {
				want, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Errorf("%v (run go test ./internal/controller/render -update to create it)", err)
					continue
				}
				if got := r.files[file]; !bytes.Equal(got, want) {
					t.Errorf("%s differs from the golden file (- want, + got; run with -update to accept):\n%s",
						filepath.Join(dir, file), lineDiff(string(want), string(got)))
				}
			}
			for _, file := range goldenFiles(t, dir) {
				if _, ok := r.files[file]; !ok {
					t.Errorf("%s: golden file of an object that is no longer rendered (run with -update to remove it)",
						filepath.Join(dir, file))
				}
			}
		})
	}
}

// writeGolden replaces the golden files in dir with files.
func writeGolden(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, file := range goldenFiles(t, dir) {
		if err := os.Remove(filepath.Join(dir, file)); err != nil {
			t.Fatal(err)
		}
	}
	for file, data := range files {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// goldenFiles lists the YAML files in dir.
func goldenFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			files = append(files, e.Name())
		}
	}
	return files
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lineDiff shows how got differs from want, line by line: "- " for a line only in want, "+ " for a line only in
// got, and up to three unchanged lines of context around each change. It uses the longest common subsequence of
// the lines, which is quick enough for files of a few hundred lines.
func lineDiff(want, got string) string {
	a := strings.Split(want, "\n")
	b := strings.Split(got, "\n")

	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}

	// Walk the table into a list of lines, each prefixed with its change.
	var lines []string
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			lines = append(lines, "  "+a[i])
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, "- "+a[i])
			i++
		default:
			lines = append(lines, "+ "+b[j])
			j++
		}
	}

	// Keep the changed lines and their context.
	const context = 3
	var out strings.Builder
	last := -1
	for k, line := range lines {
		near := false
		for d := max(0, k-context); d <= min(len(lines)-1, k+context); d++ {
			if !strings.HasPrefix(lines[d], "  ") {
				near = true
				break
			}
		}
		if !near {
			continue
		}
		if last >= 0 && k > last+1 {
			out.WriteString("  ...\n")
		}
		fmt.Fprintln(&out, line)
		last = k
	}
	return out.String()
}
