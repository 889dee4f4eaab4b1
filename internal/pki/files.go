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

package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// File modes of what this package writes: private keys are for their owner only; certificates are public.
const (
	keyFileMode  os.FileMode = 0o600
	certFileMode os.FileMode = 0o644
	caDirMode    os.FileMode = 0o700
)

// LoadPair reads a certificate and its ECDSA key from PEM files, such as WriteFiles wrote.
func LoadPair(certFile, keyFile string) (*Pair, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err)
	}
	key, err := ParseECKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("the key in %s is not the key of the certificate in %s", keyFile, certFile)
	}
	return &Pair{Cert: cert, Key: key}, nil
}

// WriteFiles writes the key (SEC 1 PEM, mode 0600) and then the certificate (PEM, mode 0644), so that a
// certificate on disk always has its key beside it.
func (p *Pair) WriteFiles(certFile, keyFile string) error {
	keyPEM, err := p.KeyPEM()
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, keyPEM, keyFileMode); err != nil {
		return fmt.Errorf("writing %s: %w", keyFile, err)
	}
	if err := os.WriteFile(certFile, p.CertPEM(), certFileMode); err != nil {
		return fmt.Errorf("writing %s: %w", certFile, err)
	}
	return nil
}

// Names of a CA's files in its folder.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// CA is a certificate authority kept in a folder (ca.crt, ca.key), so that clients keep trusting the same CA
// across runs.
type CA struct {
	Pair
	// CertFile is the CA certificate's file: what clients are told to trust.
	CertFile string
}

// OpenCA loads the CA in dir, creating the folder (mode 0700) and a new CA from tmpl (see CATemplate) when either
// file is missing or the certificate has less than renewBefore left (0: when it has expired). Files that exist but
// do not hold a CA are an error rather than replaced: clients trust that CA, so the user decides.
func OpenCA(dir string, tmpl *x509.Certificate, renewBefore time.Duration) (*CA, error) {
	ca := &CA{CertFile: filepath.Join(dir, CACertFile)}
	keyFile := filepath.Join(dir, CAKeyFile)
	pair, err := LoadPair(ca.CertFile, keyFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("reading the CA in %s (delete %s and %s to start a new one): %w",
			dir, CACertFile, CAKeyFile, err)
	case !pair.Cert.IsCA:
		return nil, fmt.Errorf("%s is not a CA certificate; delete %s and %s to start a new CA",
			ca.CertFile, CACertFile, CAKeyFile)
	case time.Until(pair.Cert.NotAfter) >= renewBefore:
		ca.Pair = *pair
		return ca, nil
	}
	if pair, err = SelfSign(tmpl); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, caDirMode); err != nil {
		return nil, fmt.Errorf("creating the CA's folder: %w", err)
	}
	if err := pair.WriteFiles(ca.CertFile, keyFile); err != nil {
		return nil, err
	}
	ca.Pair = *pair
	return ca, nil
}

// LocalCAValidity is how long the local CA lasts; OpenLocalCA makes a new one when it has expired.
const LocalCAValidity = 365 * 24 * time.Hour

// OpenLocalCA opens the CA in dir that stands in for cert-manager where it does not run: make demo, the end-to-end
// tests and hack/nodecluster's control plane. Its CertFile is what their clients are told to trust.
func OpenLocalCA(dir string) (*CA, error) {
	now := time.Now()
	subject := pkix.Name{CommonName: "pier local CA", Organization: []string{"pier demo"}}
	return OpenCA(dir, CATemplate(subject, now.Add(-time.Hour), now.Add(LocalCAValidity)), 0)
}
