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
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	v1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// defaultable is an API object with Go defaults.
type defaultable interface {
	runtime.Object
	Default()
}

// defaultCase is an object as a client may write it, before any defaulting.
type defaultCase struct {
	name string
	crd  string // file under config/crd/bases
	obj  defaultable
}

// defaultCases leave out as much as the CRDs allow, with every optional section that holds defaults present in at
// least one of them (defaults apply only inside a section that is there), and zero values that must survive.
func defaultCases() []defaultCase {
	const endpoints, users = "transfer.pier.dev_transferendpoints.yaml", "transfer.pier.dev_transferusers.yaml"
	zero := int32(0)
	return []defaultCase{
		{"empty endpoint", endpoints, &v1.TransferEndpoint{}},
		{"every section", endpoints, &v1.TransferEndpoint{Spec: v1.TransferEndpointSpec{
			SFTP: &v1.SFTPSpec{},
			FTP:  &v1.FTPSpec{TLS: v1.FTPTLSSpec{IssuerRef: &v1.IssuerReference{Name: "ca"}}},
		}}},
		// FTP with nothing set (the CRD would ask for a certificate): tls, passive and active are absent.
		{"bare ftp", endpoints, &v1.TransferEndpoint{Spec: v1.TransferEndpointSpec{FTP: &v1.FTPSpec{}}}},
		{"values set", endpoints, &v1.TransferEndpoint{Spec: v1.TransferEndpointSpec{
			SFTP: &v1.SFTPSpec{Port: 2222, AuthMethods: []v1.SFTPAuthMethod{v1.SFTPAuthPublicKey}},
			FTP: &v1.FTPSpec{
				Port: 2121,
				TLS: v1.FTPTLSSpec{
					Mode: v1.FTPTLSDisabled, RequireSessionReuse: new(bool), MinVersion: "1.3",
					IssuerRef: &v1.IssuerReference{Name: "ca", Kind: "ClusterIssuer", Group: "example.com"},
				},
				Passive: v1.PassiveSpec{PortRange: v1.PortRange{Start: 31000, End: 31009}},
			},
			Service:  v1.ServiceSpec{Type: "LoadBalancer"},
			Storage:  v1.StorageSpec{PersistentVolumeClaim: &v1.ExistingClaim{ClaimName: "files"}},
			Replicas: &zero,
			Limits: v1.LimitsSpec{
				IdleTimeout:      &metav1.Duration{Duration: time.Minute},
				MaxLoginFailures: &zero,
				BanDuration:      &metav1.Duration{Duration: time.Hour},
			},
		}}},
		{"empty user", users, &v1.TransferUser{}},
		{"user values set", users, &v1.TransferUser{Spec: v1.TransferUserSpec{
			Access: v1.AccessAdministrator, Permissions: []v1.Permission{v1.PermissionList},
		}}},
	}
}

// kubernetesTypes are where the CRDs embed Kubernetes' own types (a pod's scheduling settings, a claim's spec),
// whose defaults come with them: pier copies those values into the pods and claims it creates, where the API
// server applies the same defaults, so they need no Go default here.
var kubernetesTypes = []string{".spec.podTemplate.", ".spec.storage.volumeClaimTemplate.spec."}

// TestGoDefaultsMatchCRD applies the generated CRDs' defaults (config/crd/bases) the way the API server does, with
// apiextensions-apiserver's own structural defaulting, and Default to the same objects, and wants the same result:
// Go sets no default the CRD lacks and misses none it has. Every default of the CRDs must be applied in at least
// one case, so a new marker is checked too.
func TestGoDefaultsMatchCRD(t *testing.T) {
	schemas := map[string]*structuralschema.Structural{}
	applied := map[string]bool{} // default paths the API server's defaulting filled in, over all cases
	for _, c := range defaultCases() {
		t.Run(c.name, func(t *testing.T) {
			schema, ok := schemas[c.crd]
			if !ok {
				schema = crdSchema(t, c.crd)
				schemas[c.crd] = schema
			}
			before := toMap(t, c.obj)
			byServer := runtime.DeepCopyJSON(before)
			defaulting.Default(byServer, schema)
			for _, p := range filledIn(before, byServer, "") {
				applied[c.crd+" "+p] = true
			}

			want := c.obj.DeepCopyObject()
			fromMap(t, byServer, want)
			got := c.obj.DeepCopyObject().(defaultable)
			got.Default()
			if !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("Default() and the CRD's defaults differ:\nDefault(): %s\nCRD:       %s", jsonOf(got), jsonOf(want))
			}
			again := got.DeepCopyObject().(defaultable)
			again.Default()
			if !equality.Semantic.DeepEqual(again, got) {
				t.Errorf("Default() is not idempotent:\nonce:  %s\ntwice: %s", jsonOf(got), jsonOf(again))
			}
		})
	}
	for crd, schema := range schemas {
		for _, p := range defaultPaths(schema, "") {
			if !applied[crd+" "+p] && !slices.ContainsFunc(kubernetesTypes, func(prefix string) bool { return strings.HasPrefix(p, prefix) }) {
				t.Errorf("%s: the default of %s is applied in no case: add a case with its section present", crd, p)
			}
		}
	}
}

// crdSchema is the structural schema of the one version of a generated CRD.
func crdSchema(t *testing.T, file string) *structuralschema.Structural {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "config", "crd", "bases", file))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(crd.Spec.Versions) != 1 {
		t.Fatalf("%s has %d versions, want 1", file, len(crd.Spec.Versions))
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(
		crd.Spec.Versions[0].Schema.OpenAPIV3Schema, &internal, nil); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	schema, err := structuralschema.NewStructural(&internal)
	if err != nil {
		t.Fatalf("%s is not a structural schema: %v", file, err)
	}
	return schema
}

// defaultPaths lists the paths of every default in the schema, such as .spec.sftp.port; [] stands for the items
// of a list, {} for the values of a map.
func defaultPaths(s *structuralschema.Structural, path string) []string {
	var out []string
	if s.Default.Object != nil {
		out = append(out, path)
	}
	for name, prop := range s.Properties {
		out = append(out, defaultPaths(&prop, path+"."+name)...)
	}
	if s.Items != nil {
		out = append(out, defaultPaths(s.Items, path+"[]")...)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
		out = append(out, defaultPaths(s.AdditionalProperties.Structural, path+"{}")...)
	}
	slices.Sort(out)
	return out
}

// filledIn lists the paths of the fields after has and before lacks, and of the fields inside them.
func filledIn(before, after any, path string) []string {
	a, ok := after.(map[string]any)
	if !ok {
		return nil
	}
	b, _ := before.(map[string]any)
	var out []string
	for k, v := range a {
		p := path + "." + k
		if _, found := b[k]; !found {
			out = append(out, p)
		}
		out = append(out, filledIn(b[k], v, p)...)
	}
	return out
}

func toMap(t *testing.T, obj runtime.Object) map[string]any {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fromMap decodes m into obj through JSON, as the operator reads what the API server returns: numbers of the
// schema's defaults are JSON numbers, and durations such as "5m" become what the Go types hold.
func fromMap(t *testing.T, m map[string]any, obj runtime.Object) {
	t.Helper()
	data, _ := json.Marshal(m) // a map of JSON values always marshals
	if err := json.Unmarshal(data, obj); err != nil {
		t.Fatalf("the defaulted object does not decode: %v\n%s", err, data)
	}
}

// jsonOf shows an API object in a failure message; API objects always marshal.
func jsonOf(obj any) string {
	data, _ := json.Marshal(obj)
	return string(data)
}
