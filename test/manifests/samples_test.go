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
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// samplesDir is config/samples, which `kubectl apply -k` applies as it is.
var samplesDir = filepath.Join(controlplane.RepoRoot(), "config", "samples")

// sampleRef is one object a sample names: kind and name, and the sample that names it.
type sampleRef struct{ kind, name, from string }

// TestSamplesSelfContained: every object a sample names is among the samples, so `kubectl apply -k
// config/samples` on a cluster with pier and cert-manager needs nothing else. Objects the operator makes (a
// generated password's Secret, generated host keys, the Certificate of spec.ftp.tls.issuerRef) are not named by a
// sample, so they are not looked for. TestSamplesReconcile then shows the API server and the operator agree.
func TestSamplesSelfContained(t *testing.T) {
	objs := readObjects(t, kustomizeBuild(t, samplesDir))
	if missing := missingReferences(objs); len(missing) > 0 {
		for _, r := range missing {
			t.Errorf("%s names %s %s, which no sample provides", r.from, r.kind, r.name)
		}
	}
	for _, o := range objs {
		if o.GetNamespace() != "" {
			t.Errorf("%s %s sets namespace %s: samples go to the namespace they are applied to", o.GetKind(),
				o.GetName(), o.GetNamespace())
		}
	}
}

// missingReferences lists the references of objs to objects that objs lacks. A Certificate provides the Secret
// of its spec.secretName, as cert-manager writes it.
func missingReferences(objs []*unstructured.Unstructured) []sampleRef {
	provided := map[string]bool{}
	for _, o := range objs {
		provided[o.GetKind()+"/"+o.GetName()] = true
		if o.GetKind() == "Certificate" {
			secret, _, _ := unstructured.NestedString(o.Object, "spec", "secretName")
			provided["Secret/"+secret] = true
		}
	}
	var missing []sampleRef
	for _, o := range objs {
		for _, r := range references(o) {
			if !provided[r.kind+"/"+r.name] {
				missing = append(missing, r)
			}
		}
	}
	return missing
}

// references are the objects o names, by the fields of pier's and cert-manager's kinds that name them.
func references(o *unstructured.Unstructured) []sampleRef {
	field := func(path ...string) string {
		v, _, _ := unstructured.NestedString(o.Object, path...)
		return v
	}
	var refs []sampleRef
	add := func(kind, name string) {
		if name != "" {
			refs = append(refs, sampleRef{kind: kind, name: name, from: o.GetKind() + " " + o.GetName()})
		}
	}
	// An issuerRef without a kind means an Issuer, in pier's API as in cert-manager's.
	issuerKind := func(kind string) string { return cmp.Or(kind, "Issuer") }
	switch o.GetKind() {
	case "TransferUser":
		add("TransferEndpoint", field("spec", "endpointRef", "name"))
		add("Secret", field("spec", "password", "secretRef", "name"))
		add("Secret", field("spec", "authorizedKeys", "secretRef", "name"))
	case "TransferEndpoint":
		add("Secret", field("spec", "sftp", "hostKeys", "secretRef", "name"))
		add("Secret", field("spec", "ftp", "tls", "secretRef", "name"))
		add(issuerKind(field("spec", "ftp", "tls", "issuerRef", "kind")), field("spec", "ftp", "tls", "issuerRef", "name"))
		add("PersistentVolumeClaim", field("spec", "storage", "persistentVolumeClaim", "claimName"))
	case "Certificate":
		add(issuerKind(field("spec", "issuerRef", "kind")), field("spec", "issuerRef", "name"))
	case "Issuer", "ClusterIssuer":
		add("Secret", field("spec", "ca", "secretName"))
	}
	return refs
}

// certManagerCRDs are cert-manager's CRDs, from the module's deploy/crds (a user's cluster has them from
// cert-manager's own install).
func certManagerCRDs(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	dir, err := controlplane.CertManagerCRDDir()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in %s (%v)", dir, err)
	}
	crds := make([]*unstructured.Unstructured, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crds = append(crds, readObjects(t, data)...)
	}
	return slices.DeleteFunc(crds, func(o *unstructured.Unstructured) bool {
		return o.GetKind() != "CustomResourceDefinition"
	})
}

// kinds is a readable list of the kinds and names of objs.
func kinds(objs []*unstructured.Unstructured) string {
	list := make([]string, 0, len(objs))
	for _, o := range objs {
		list = append(list, fmt.Sprintf("%s %s", o.GetKind(), o.GetName()))
	}
	return joinLines(list)
}
