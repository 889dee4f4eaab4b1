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
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
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
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pier test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := &CA{Cert: cert, Key: key, CAFile: filepath.Join(dir, "ca.crt"),
		CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), Pool: x509.NewCertPool()}
	ca.Pool.AddCert(cert)
	WriteFileAtomic(t, ca.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	ca.Issue(t, "server-1")
	return ca
}

// Issue writes a new server certificate for 127.0.0.1, ::1 and localhost with the given common name, replacing
// the files as a certificate renewal does.
func (ca *CA) Issue(t testing.TB, commonName string) {
	t.Helper()
	certPEM, keyPEM := newCertificate(t, commonName, ca.Cert, ca.Key, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	WriteFileAtomic(t, ca.KeyFile, keyPEM)
	WriteFileAtomic(t, ca.CertFile, certPEM)
}

// SelfSigned returns a self-signed server certificate for 127.0.0.1, ::1 and localhost and its key, as PEM.
func SelfSigned(t testing.TB, commonName string) (certPEM, keyPEM []byte) {
	t.Helper()
	return newCertificate(t, commonName, nil, nil, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// SelfSignedValidity is SelfSigned valid from notBefore to notAfter, for expired and not-yet-valid certificates.
func SelfSignedValidity(t testing.TB, commonName string, notBefore, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	return newCertificate(t, commonName, nil, nil, notBefore, notAfter)
}

// newCertificate issues a server certificate signed by parent, or self-signed when parent is nil.
func newCertificate(t testing.TB, commonName string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey,
	notBefore, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
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
