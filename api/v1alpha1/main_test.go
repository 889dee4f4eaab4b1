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

package v1alpha1_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// env is the control plane shared by every test in this package; each test works in its own namespace.
var env *controlplane.Env

// cert-manager's CRDs are there because config/samples, which TestSamplesAccepted creates, holds its Issuers and
// Certificates.
func TestMain(m *testing.M) {
	controlplane.RunTests(m, controlplane.Options{CertManagerCRDs: true}, &env)
}

// fromYAML decodes one YAML document into an object the client can create, in the given namespace.
func fromYAML(t *testing.T, doc, namespace string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatalf("test YAML does not parse: %v\n%s", err, doc)
	}
	obj.SetNamespace(namespace)
	return obj
}

// create creates the object and returns the API server's error, if any.
func create(t *testing.T, doc, namespace string) error {
	t.Helper()
	return env.Client.Create(context.Background(), fromYAML(t, doc, namespace))
}

// splitYAML splits a multi-document YAML file into its non-empty documents.
func splitYAML(data string) []string {
	var docs []string
	for _, doc := range strings.Split(data, "\n---") {
		if strings.TrimSpace(stripComments(doc)) != "" {
			docs = append(docs, doc)
		}
	}
	return docs
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func clientKey(name string) client.ObjectKey { return client.ObjectKey{Name: name} }
