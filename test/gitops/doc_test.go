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

package gitops

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

var gitopsDoc = filepath.Join(controlplane.RepoRoot(), "docs", "gitops.md")

// yamlBlocks returns the documents of every ```yaml block of a Markdown file, each parsed.
func yamlBlocks(t *testing.T, file string) []map[string]any {
	t.Helper()
	content, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	for _, block := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(content, -1) {
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(block[1])))
		for {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var parsed map[string]any
			if err := yaml.Unmarshal(doc, &parsed); err != nil {
				t.Fatalf("a YAML block of %s does not parse: %v\n%s", filepath.Base(file), err, doc)
			}
			docs = append(docs, parsed)
		}
	}
	if len(docs) == 0 {
		t.Fatalf("%s has no YAML blocks", file)
	}
	return docs
}

// TestDocHoldsHealthScript: the argocd-cm ConfigMap in docs/gitops.md has the tested script, byte for byte, as
// the health check of both kinds.
func TestDocHoldsHealthScript(t *testing.T) {
	script := readHealthScript(t)
	found := false
	for _, doc := range yamlBlocks(t, gitopsDoc) {
		if doc["kind"] != "ConfigMap" {
			continue
		}
		found = true
		data, _ := doc["data"].(map[string]any)
		for _, kind := range []string{"TransferEndpoint", "TransferUser"} {
			key := "resource.customizations.health.transfer.pier.dev_" + kind
			if data[key] != script {
				t.Errorf("argocd-cm's %s is not docs/gitops/health.lua verbatim; got:\n%v", key, data[key])
			}
		}
	}
	if !found {
		t.Fatal("docs/gitops.md has no argocd-cm ConfigMap")
	}
}

// TestDocPathsExist: the paths the Argo CD Applications and Flux Kustomizations install pier from are in this
// repository.
func TestDocPathsExist(t *testing.T) {
	root := controlplane.RepoRoot()
	for _, want := range []string{"dist/install.yaml", "charts/pier/Chart.yaml", "config/default/kustomization.yaml"} {
		if _, err := os.Stat(filepath.Join(root, want)); err != nil {
			t.Errorf("docs/gitops.md installs from %s: %v", want, err)
		}
	}
	paths := map[string]bool{}
	for _, doc := range yamlBlocks(t, gitopsDoc) {
		spec, _ := doc["spec"].(map[string]any)
		source, _ := spec["source"].(map[string]any)
		if source == nil {
			source, _ = doc["source"].(map[string]any) // the Helm variant is a fragment of an Application
		}
		for _, p := range []any{source["path"], spec["path"]} {
			if s, ok := p.(string); ok {
				paths[filepath.Clean(s)] = true
			}
		}
	}
	for _, want := range []string{"dist", "charts/pier", "config/default"} {
		if !paths[want] {
			t.Errorf("no example in docs/gitops.md installs from %s (paths: %v)", want, paths)
		}
	}
}
