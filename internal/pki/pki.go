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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

// GenerateKey returns a new ECDSA P-256 private key, the key type of everything this package signs or issues.
func GenerateKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating an ECDSA P-256 key: %w", err)
	}
	return key, nil
}

// Pair is a certificate and its private key.
type Pair struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// CATemplate is a CA certificate for subject, valid from notBefore to notAfter, that may sign certificates and
// CRLs. A caller may narrow it further (MaxPathLenZero, KeyUsage) before SelfSign.
func CATemplate(subject pkix.Name, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

// ServerTemplate is a TLS server certificate for commonName and names, valid from notBefore to notAfter. Each name
// that parses as an IP address becomes an IP address SAN, every other one a DNS name SAN, in the order given.
func ServerTemplate(commonName string, names []string, notBefore, notAfter time.Time) *x509.Certificate {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return tmpl
}

// ClientTemplate is a TLS client certificate for commonName in groups (its organizations), which is how
// Kubernetes reads a client certificate: the user name and groups of whoever presents it.
func ClientTemplate(commonName string, groups []string, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: groups},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// SelfSign makes a new key and the certificate of tmpl signed by that key: a CA from CATemplate, or a
// self-signed server certificate. tmpl is not changed; without a serial number the certificate gets a random one.
func SelfSign(tmpl *x509.Certificate) (*Pair, error) {
	return sign(tmpl, nil)
}

// Issue makes a new key and the certificate of tmpl for it, signed by ca. tmpl is not changed; without a serial
// number the certificate gets a random one.
func (ca *Pair) Issue(tmpl *x509.Certificate) (*Pair, error) {
	if !ca.Cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate: it cannot issue certificates", ca.Cert.Subject)
	}
	return sign(tmpl, ca)
}

// Backdate is how long before now IssueServer and IssueClient start a certificate's validity, so that a peer whose
// clock is a little behind accepts it.
const Backdate = time.Minute

// IssueServer issues a server certificate for names (see ServerTemplate; the first name is also the common name)
// valid from Backdate ago for validity.
func (ca *Pair) IssueServer(names []string, validity time.Duration) (*Pair, error) {
	commonName := "pier"
	if len(names) > 0 {
		commonName = names[0]
	}
	now := time.Now()
	pair, err := ca.Issue(ServerTemplate(commonName, names, now.Add(-Backdate), now.Add(validity)))
	if err != nil {
		return nil, fmt.Errorf("signing a certificate for %v: %w", names, err)
	}
	return pair, nil
}

// IssueClient issues a client certificate for commonName in groups (see ClientTemplate) valid from Backdate ago
// for validity.
func (ca *Pair) IssueClient(commonName string, groups []string, validity time.Duration) (*Pair, error) {
	now := time.Now()
	pair, err := ca.Issue(ClientTemplate(commonName, groups, now.Add(-Backdate), now.Add(validity)))
	if err != nil {
		return nil, fmt.Errorf("signing a client certificate for %s: %w", commonName, err)
	}
	return pair, nil
}

// sign makes a new key and the certificate of tmpl for it, signed by parent, or by the new key when parent is nil.
func sign(tmpl *x509.Certificate, parent *Pair) (*Pair, error) {
	key, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	t := *tmpl
	if t.SerialNumber == nil {
		if t.SerialNumber, err = serialNumber(); err != nil {
			return nil, err
		}
	}
	parentCert, parentKey := &t, key
	if parent != nil {
		parentCert, parentKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, &t, parentCert, &key.PublicKey, parentKey)
	if err != nil {
		return nil, fmt.Errorf("creating the certificate of %s: %w", t.Subject, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Pair{Cert: cert, Key: key}, nil
}

// serialLimit bounds serial numbers: 127 random bits, more than the 64 that the CA/Browser Forum asks for, and
// within RFC 5280's 20 octets.
var serialLimit = new(big.Int).Lsh(big.NewInt(1), 127)

// serialNumber returns a random serial number from 1 to 2^127: RFC 5280 wants it positive.
func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, serialLimit)
	if err != nil {
		return nil, fmt.Errorf("drawing a serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}
