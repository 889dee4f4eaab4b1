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

package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/certinfo"
	"github.com/pier-dev/pier/internal/controller/render"
)

// needsTLS reports whether the endpoint serves FTPS and so needs a certificate.
func needsTLS(te *transferv1alpha1.TransferEndpoint) bool {
	ftp := te.Spec.FTP
	return ftp != nil && (ftp.TLS.Mode != transferv1alpha1.FTPTLSDisabled || ftp.TLS.ImplicitPort != nil)
}

// reconcileTLS makes sure the FTPS certificate exists: the user's Secret, or a cert-manager Certificate the
// operator creates from issuerRef. TLSReady says whether the Secret holds a valid, unexpired pair.
func (r *EndpointReconciler) reconcileTLS(ctx context.Context, s *endpointState) error {
	tls := s.te.Spec.FTP
	if r.certManager.Load() && (!needsTLS(s.te) || tls.TLS.IssuerRef == nil) {
		// issuerRef was removed or FTPS turned off: the Certificate would keep renewing for nobody.
		if err := remove(ctx, r.Client, newCertificate(s.te.Namespace, s.te.Name), s.te); err != nil {
			return err
		}
	}
	if !needsTLS(s.te) {
		return nil
	}

	name := s.names.TLSSecret
	if tls.TLS.IssuerRef != nil {
		if !r.certManager.Load() {
			msg := "spec.ftp.tls.issuerRef needs cert-manager, which is not installed in this cluster " +
				"(no certificates.cert-manager.io); install it (the operator notices it and creates the Certificate), " +
				"or set spec.ftp.tls.secretRef"
			s.set(transferv1alpha1.ConditionTLSReady, metav1.ConditionFalse, transferv1alpha1.ReasonCertManagerNotInstalled, msg)
			r.warn(s.te, transferv1alpha1.ReasonCertManagerNotInstalled, msg)
			return nil
		}
		cert := render.Certificate(s.te)
		if _, err := ensure(ctx, r.Client, r.APIReader, cert, certificateKind); err != nil {
			return err
		}
	}

	secret := &corev1.Secret{}
	err := r.Get(ctx, types.NamespacedName{Namespace: s.te.Namespace, Name: name}, secret)
	if apierrors.IsNotFound(err) {
		if tls.TLS.IssuerRef != nil {
			s.set(transferv1alpha1.ConditionTLSReady, metav1.ConditionFalse, transferv1alpha1.ReasonCertificatePending,
				fmt.Sprintf("waiting for cert-manager to issue Certificate %s into Secret %s", s.names.Certificate, name))
			return nil
		}
		msg := fmt.Sprintf("Secret %s named in spec.ftp.tls.secretRef does not exist in namespace %s", name, s.te.Namespace)
		s.set(transferv1alpha1.ConditionTLSReady, metav1.ConditionFalse, transferv1alpha1.ReasonSecretNotFound, msg)
		r.warn(s.te, transferv1alpha1.ReasonSecretNotFound, msg)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading TLS Secret %s: %w", name, err)
	}

	now := r.now()
	info, err := certinfo.Inspect(secret.Data, now)
	s.tls = &transferv1alpha1.TLSStatus{SecretName: name}
	if !info.NotAfter.IsZero() {
		s.tls.NotAfter = &metav1.Time{Time: info.NotAfter}
	}
	if err != nil {
		reason := transferv1alpha1.ReasonInvalidCertificate
		if !info.NotAfter.IsZero() && now.After(info.NotAfter) {
			reason = transferv1alpha1.ReasonCertificateExpired
		}
		msg := fmt.Sprintf("TLS Secret %s: %v", name, err)
		s.set(transferv1alpha1.ConditionTLSReady, metav1.ConditionFalse, reason, msg)
		r.warn(s.te, reason, msg)
		if !info.NotBefore.IsZero() && now.Before(info.NotBefore) {
			s.requeueAt(info.NotBefore.Sub(now))
		}
		return nil
	}
	names := "no DNS names"
	if len(info.DNSNames) > 0 {
		names = strings.Join(info.DNSNames, ", ")
	}
	s.set(transferv1alpha1.ConditionTLSReady, metav1.ConditionTrue, transferv1alpha1.ReasonValid,
		fmt.Sprintf("certificate for %s from Secret %s, valid until %s", names, name, info.NotAfter.UTC().Format(time.RFC3339)))
	// Look again when it expires, so TLSReady turns False even if nothing else changes.
	s.requeueAt(info.NotAfter.Sub(now) + time.Second)
	return nil
}
