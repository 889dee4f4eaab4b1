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

package testcreds

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/pki"
)

// CA is a test certificate authority and the server certificate it issued for 127.0.0.1, ::1 and localhost,
// kept in files as a kubernetes.io/tls Secret volume would hold them.
type CA struct {
	Cert     *x509.Certificate
	Key      *ecdsa.PrivateKey
	CAFile   string // the CA certificate, for clients (--cacert)
	CertFile string // the server certificate
	KeyFile  string // the server key
	Pool     *x509.CertPool
}

// NewCA creates a CA in a temporary folder and issues a first server certificate named "server-1".
func NewCA(t testing.TB) *CA {
	t.Helper()
	now := time.Now()
	tmpl := pki.CATemplate(pkix.Name{CommonName: "pier test CA"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	tmpl.KeyUsage = x509.KeyUsageCertSign // the tests use no CRLs
	pair, err := pki.SelfSign(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := &CA{Cert: pair.Cert, Key: pair.Key, CAFile: filepath.Join(dir, "ca.crt"),
		CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), Pool: x509.NewCertPool()}
	ca.Pool.AddCert(pair.Cert)
	WriteFileAtomic(t, ca.CAFile, pair.CertPEM())
	ca.Issue(t, "server-1")
	return ca
}

// Issue writes a new server certificate for 127.0.0.1, ::1 and localhost with the given common name, replacing
// the files as a certificate renewal does.
func (ca *CA) Issue(t testing.TB, commonName string) {
	t.Helper()
	certPEM, keyPEM := newCertificate(t, commonName, &pki.Pair{Cert: ca.Cert, Key: ca.Key},
		time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	WriteFileAtomic(t, ca.KeyFile, keyPEM)
	WriteFileAtomic(t, ca.CertFile, certPEM)
}

// SelfSigned returns a self-signed server certificate for 127.0.0.1, ::1 and localhost and its key, as PEM.
func SelfSigned(t testing.TB, commonName string) (certPEM, keyPEM []byte) {
	t.Helper()
	return newCertificate(t, commonName, nil, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// SelfSignedValidity is SelfSigned valid from notBefore to notAfter, for expired and not-yet-valid certificates.
func SelfSignedValidity(t testing.TB, commonName string, notBefore, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	return newCertificate(t, commonName, nil, notBefore, notAfter)
}

// newCertificate issues a server certificate for 127.0.0.1, ::1 and localhost signed by ca, or self-signed when
// ca is nil. The key is PKCS #8, as openssl writes it, while pki's own files are SEC 1: the server reads both.
func newCertificate(t testing.TB, commonName string, ca *pki.Pair, notBefore, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	tmpl := pki.ServerTemplate(commonName, []string{"127.0.0.1", "::1", "localhost"}, notBefore, notAfter)
	var pair *pki.Pair
	var err error
	if ca == nil {
		pair, err = pki.SelfSign(tmpl)
	} else {
		pair, err = ca.Issue(tmpl)
	}
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err = pair.PKCS8KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return pair.CertPEM(), keyPEM
}

// WriteFileAtomic replaces file by renaming a new file over it, as most tools that rotate keys and certificates
// do.
func WriteFileAtomic(t testing.TB, file string, data []byte) {
	t.Helper()
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}
