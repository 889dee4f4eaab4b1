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

package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/pki"
)

// certificateValidity is how long the stand-in's certificates last, like cert-manager's default.
const certificateValidity = 90 * 24 * time.Hour

// Issuer stands in for cert-manager where it does not run: it issues every Certificate from the local CA into
// the Certificate's Secret and marks it Ready. It says so in the Certificate's status; nothing else is faked.
type Issuer struct {
	client client.Client
	ca     *pki.CA
	log    *slog.Logger
	// extraNames, when set, gives names the certificate also covers beyond spec.dnsNames and 127.0.0.1 (a real
	// node's Service address, say); an error postpones the Certificate to the next round.
	extraNames func(ctx context.Context, cert *unstructured.Unstructured) ([]string, error)
	mu         sync.Mutex
}

// NewIssuer is an Issuer of Certificates from ca. extraNames may be nil (see Issuer).
func NewIssuer(c client.Client, ca *pki.CA, log *slog.Logger,
	extraNames func(ctx context.Context, cert *unstructured.Unstructured) ([]string, error)) *Issuer {
	return &Issuer{client: c, ca: ca, log: log, extraNames: extraNames}
}

// Run issues pending Certificates every second until ctx is done.
func (i *Issuer) Run(ctx context.Context) error {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		if err := i.issuePending(ctx); err != nil && ctx.Err() == nil {
			i.log.Warn("local certificate issuer", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

func (i *Issuer) issuePending(ctx context.Context) error {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(render.CertificateGVK.GroupVersion().WithKind("CertificateList"))
	if err := i.client.List(ctx, list); err != nil {
		return fmt.Errorf("listing Certificates: %w", err)
	}
	for idx := range list.Items {
		cert := &list.Items[idx]
		secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
		secret := &corev1.Secret{}
		err := i.client.Get(ctx, types.NamespacedName{Namespace: cert.GetNamespace(), Name: secretName}, secret)
		if err == nil && bytes.Contains(secret.Data["ca.crt"], i.ca.CertPEM()) && issuedFor(cert) == cert.GetGeneration() {
			continue
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if err := i.issue(ctx, cert); err != nil {
			return err
		}
	}
	return nil
}

// Rotate issues a fresh certificate for the Certificate namespace/name now.
func (i *Issuer) Rotate(ctx context.Context, namespace, name string) error {
	cert := &unstructured.Unstructured{}
	cert.SetGroupVersionKind(render.CertificateGVK)
	if err := i.client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, cert); err != nil {
		return fmt.Errorf("reading Certificate %s/%s: %w", namespace, name, err)
	}
	return i.issue(ctx, cert)
}

// issue signs a certificate for the Certificate's DNS names and writes its Secret and status.
func (i *Issuer) issue(ctx context.Context, cert *unstructured.Unstructured) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	names := append(slices.Clone(dnsNames), "127.0.0.1")
	if i.extraNames != nil {
		extra, err := i.extraNames(ctx, cert)
		if err != nil {
			return fmt.Errorf("the names of Certificate %s: %w", cert.GetName(), err)
		}
		names = append(names, extra...)
	}
	pair, err := i.ca.IssueServer(names, certificateValidity)
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := pair.PEM()
	if err != nil {
		return err
	}
	labels, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "secretTemplate", "labels")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: cert.GetNamespace(), Name: secretName}}
	_, err = createOrUpdate(ctx, i.client, secret, func() {
		secret.Labels = labels
		secret.Annotations = map[string]string{"cert-manager.io/certificate-name": cert.GetName(),
			"pier.dev/issued-by": "the local CA of make demo / the end-to-end tests, standing in for cert-manager"}
		secret.Type = corev1.SecretTypeTLS
		secret.Data = map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": i.ca.CertPEM()}
	})
	if err != nil {
		return fmt.Errorf("writing Secret %s: %w", secretName, err)
	}
	now := time.Now().UTC()
	status := map[string]any{
		"conditions": []any{map[string]any{
			"type": "Ready", "status": "True", "reason": "Issued", "observedGeneration": cert.GetGeneration(),
			"lastTransitionTime": now.Format(time.RFC3339),
			"message":            "issued by the local CA: cert-manager is not running here",
		}},
		"notBefore": now.Format(time.RFC3339),
		"notAfter":  now.Add(certificateValidity).Format(time.RFC3339),
	}
	patch := &unstructured.Unstructured{Object: map[string]any{"status": status}}
	patch.SetGroupVersionKind(render.CertificateGVK)
	data, err := patch.MarshalJSON()
	if err != nil {
		return err
	}
	if err := i.client.Status().Patch(ctx, cert, client.RawPatch(types.MergePatchType, data)); err != nil {
		return fmt.Errorf("marking Certificate %s Ready: %w", cert.GetName(), err)
	}
	i.log.Info("issued a certificate from the local CA (cert-manager is not running here)",
		"certificate", cert.GetNamespace()+"/"+cert.GetName(), "secret", secretName, "dnsNames", dnsNames)
	return nil
}

// issuedFor is the generation of the Certificate its Ready condition was written for, -1 without one.
func issuedFor(cert *unstructured.Unstructured) int64 {
	conditions, _, _ := unstructured.NestedSlice(cert.Object, "status", "conditions")
	for _, c := range conditions {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Ready" && m["status"] == "True" {
			if g, ok := m["observedGeneration"].(int64); ok {
				return g
			}
		}
	}
	return -1
}

// createOrUpdate creates obj after mutate, or reads it, applies mutate and updates it.
func createOrUpdate(ctx context.Context, c client.Client, obj client.Object, mutate func()) (bool, error) {
	err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		mutate()
		return true, c.Create(ctx, obj)
	}
	if err != nil {
		return false, err
	}
	mutate()
	return false, c.Update(ctx, obj)
}

// prefixWriter writes every line with a prefix, for interleaved logs of several processes.
type prefixWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
}
