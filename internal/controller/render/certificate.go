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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pier-dev/pier/api/v1alpha1"
)

// CertificateGVK is cert-manager's Certificate. The operator does not import cert-manager's Go module (it is
// large, and cert-manager is optional), so the Certificate is rendered as an unstructured object.
var CertificateGVK = schema.GroupVersionKind{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"}

// Certificate asks cert-manager for the FTPS certificate when spec.ftp.tls.issuerRef is set, and is nil otherwise.
// cert-manager writes it into Names.TLSSecret, which the server pods mount; the server re-reads the files when
// cert-manager renews them.
//
// Values are JSON types (string, int64, []any, map[string]any), as unstructured objects require.
func Certificate(te *v1alpha1.TransferEndpoint) *unstructured.Unstructured {
	if !ftpEnabled(te) || te.Spec.FTP.TLS.IssuerRef == nil {
		return nil
	}
	tls := te.Spec.FTP.TLS
	names := NamesFor(te)

	dnsNames := []any{}
	for _, name := range tls.DNSNames {
		dnsNames = append(dnsNames, name)
	}
	secretLabels := map[string]any{}
	for k, v := range Labels(te) {
		secretLabels[k] = v
	}

	cert := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"secretName": names.TLSSecret,
			"dnsNames":   dnsNames,
			"issuerRef": map[string]any{
				"name":  tls.IssuerRef.Name,
				"kind":  tls.IssuerRef.Kind,
				"group": tls.IssuerRef.Group,
			},
			// A fresh ECDSA P-256 key on every renewal: small, fast, and accepted by every FTPS client.
			"privateKey": map[string]any{
				"algorithm":      "ECDSA",
				"size":           int64(256),
				"rotationPolicy": "Always",
			},
			"usages": []any{"server auth"},
			// The Secret cert-manager writes carries our labels, so it is recognisable as the endpoint's.
			"secretTemplate": map[string]any{"labels": secretLabels},
		},
	}}
	cert.SetGroupVersionKind(CertificateGVK)
	meta := objectMeta(te, names.Certificate)
	cert.SetName(meta.Name)
	cert.SetNamespace(meta.Namespace)
	cert.SetLabels(meta.Labels)
	cert.SetOwnerReferences(meta.OwnerReferences)
	return cert
}
