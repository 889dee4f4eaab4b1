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
	"regexp"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// taskDocs are the pages of docs/ written by task; their YAML examples must be accepted as they are shown.
var taskDocs = []string{"create-endpoint-and-user.md", "passwords.md", "rotate-tls-and-host-keys.md",
	"partners.md", "expose.md", "troubleshooting.md", "clients.md"}

// taskDocsNamespace is the namespace of the pages' examples, and where those without one are applied.
const taskDocsNamespace = "files"

// yamlBlock is a fenced yaml block of a page, and the line before it (a "docs-test: skip" comment skips it).
var yamlBlock = regexp.MustCompile("(?m)^(.*)\n```yaml\n((?s:.*?))```")

// TestTaskDocExamples applies every YAML example of the task pages, as a server-side dry run, to an API server
// with pier's and cert-manager's CRDs: no field may be unknown and no rule of the CRDs may refuse it. A block that
// is a fragment of a TransferEndpoint's spec (it starts with `spec:`) is checked inside an endpoint, with a TLS
// Secret when it serves FTP, since a fragment leaves the certificate to the page's other examples.
func TestTaskDocExamples(t *testing.T) {
	objs := append(readObjects(t, kustomizeBuild(t, filepath.Join(controlplane.RepoRoot(), "config", "crd"))),
		certManagerCRDs(t)...)
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(taskDocsNamespace)
	objs = append(objs, ns)
	examples := 0
	for _, page := range taskDocs {
		content, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "docs", page))
		if err != nil {
			t.Fatal(err)
		}
		for i, block := range yamlBlock.FindAllSubmatch(content, -1) {
			if bytes.Contains(block[1], []byte("docs-test: skip")) {
				continue
			}
			for _, o := range docObjects(t, fmt.Sprintf("%s-%d", page[:len(page)-len(".md")], i), block[2]) {
				if o.GetNamespace() == "" {
					o.SetNamespace(taskDocsNamespace)
				}
				objs = append(objs, o)
				examples++
			}
		}
	}
	if examples < 5 {
		t.Fatalf("found %d YAML examples in %v, want 5 or more", examples, taskDocs)
	}
	if warnings := install(t, objs); len(warnings) > 0 {
		t.Errorf("the API server warned about the task pages' examples:%s", joinLines(warnings))
	}
}

// docObjects are the objects of one YAML block: its documents, or the TransferEndpoint a spec fragment belongs to.
func docObjects(t *testing.T, name string, block []byte) []*unstructured.Unstructured {
	t.Helper()
	if !bytes.HasPrefix(block, []byte("spec:")) {
		return readObjects(t, block)
	}
	fragment := map[string]any{}
	if err := yaml.Unmarshal(block, &fragment); err != nil {
		t.Fatalf("a spec fragment of %s does not parse: %v\n%s", name, err, block)
	}
	spec, _ := fragment["spec"].(map[string]any)
	if ftp, ok := spec["ftp"].(map[string]any); ok {
		tls, _ := ftp["tls"].(map[string]any)
		if tls == nil {
			tls = map[string]any{}
			ftp["tls"] = tls
		}
		if tls["secretRef"] == nil && tls["issuerRef"] == nil && tls["mode"] != "Disabled" {
			tls["secretRef"] = map[string]any{"name": "doc-example-tls"}
		}
	}
	te := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	te.SetAPIVersion("transfer.pier.dev/v1alpha1")
	te.SetKind("TransferEndpoint")
	te.SetName(name)
	return []*unstructured.Unstructured{te}
}
