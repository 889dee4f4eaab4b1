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
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// newCA is a CA valid for the hour around now.
func newCA(t *testing.T) *Pair {
	t.Helper()
	now := time.Now()
	return selfSigned(t, CATemplate(pkix.Name{CommonName: "test CA"}, now.Add(-time.Hour), now.Add(time.Hour)))
}

func selfSigned(t *testing.T, tmpl *x509.Certificate) *Pair {
	t.Helper()
	pair, err := SelfSign(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

func TestServerTemplateNames(t *testing.T) {
	for _, tc := range []struct {
		name    string
		names   []string
		wantDNS []string
		wantIPs []string
	}{
		{name: "none", names: nil},
		{name: "loopback", names: []string{"localhost", "127.0.0.1", "::1"}, wantDNS: []string{"localhost"},
			wantIPs: []string{"127.0.0.1", "::1"}},
		{name: "order kept", names: []string{"b.example", "10.0.0.2", "a.example", "2001:db8::1", "10.0.0.1"},
			wantDNS: []string{"b.example", "a.example"}, wantIPs: []string{"10.0.0.2", "2001:db8::1", "10.0.0.1"}},
		{name: "wildcard", names: []string{"*.files.example.com"}, wantDNS: []string{"*.files.example.com"}},
		{name: "not an address", names: []string{"300.1.1.1"}, wantDNS: []string{"300.1.1.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := ServerTemplate("cn", tc.names, time.Now(), time.Now().Add(time.Hour))
			ips := make([]string, 0, len(tmpl.IPAddresses))
			for _, ip := range tmpl.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(tmpl.DNSNames, tc.wantDNS) || !slices.Equal(ips, tc.wantIPs) {
				t.Errorf("DNS names %q and IPs %q, want %q and %q", tmpl.DNSNames, ips, tc.wantDNS, tc.wantIPs)
			}
		})
	}
}

// Every certificate kind: what it may be used for, and that it verifies for what it was made for only.
func TestIssuedCertificates(t *testing.T) {
	ca := newCA(t)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	server, err := ca.IssueServer([]string{"ftp.example.com", "127.0.0.1", "::1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.IssueClient("system:node:n1", []string{"system:nodes"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		cert      *x509.Certificate
		usage     x509.ExtKeyUsage
		dnsName   string
		wantValid bool
	}{
		{"server by name", server.Cert, x509.ExtKeyUsageServerAuth, "ftp.example.com", true},
		{"server by IPv4", server.Cert, x509.ExtKeyUsageServerAuth, "127.0.0.1", true},
		{"server by IPv6", server.Cert, x509.ExtKeyUsageServerAuth, "::1", true},
		{"server, other name", server.Cert, x509.ExtKeyUsageServerAuth, "other.example.com", false},
		{"server as a client", server.Cert, x509.ExtKeyUsageClientAuth, "", false},
		{"client", client.Cert, x509.ExtKeyUsageClientAuth, "", true},
		{"client as a server", client.Cert, x509.ExtKeyUsageServerAuth, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: tc.dnsName,
				KeyUsages: []x509.ExtKeyUsage{tc.usage}})
			if (err == nil) != tc.wantValid {
				t.Errorf("Verify: %v, want valid %v", err, tc.wantValid)
			}
		})
	}
	if server.Cert.Subject.CommonName != "ftp.example.com" || server.Cert.IsCA {
		t.Errorf("server certificate: common name %q, CA %v", server.Cert.Subject.CommonName, server.Cert.IsCA)
	}
	if client.Cert.Subject.CommonName != "system:node:n1" || !slices.Equal(client.Cert.Subject.Organization, []string{"system:nodes"}) {
		t.Errorf("client certificate subject %s, want the user and its groups", client.Cert.Subject)
	}
	// The validity starts Backdate ago, for clocks a little behind, and lasts as asked.
	if got := time.Until(server.Cert.NotBefore); got > -Backdate+time.Minute || got < -Backdate-time.Minute {
		t.Errorf("NotBefore %s is not about %s ago", server.Cert.NotBefore, Backdate)
	}
	if got := server.Cert.NotAfter.Sub(server.Cert.NotBefore); got != time.Hour+Backdate {
		t.Errorf("valid for %s, want %s", got, time.Hour+Backdate)
	}
}

func TestKeysAndSerials(t *testing.T) {
	ca := newCA(t)
	seen := map[string]bool{}
	for range 20 {
		p, err := ca.Issue(ServerTemplate("x", nil, time.Now(), time.Now().Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		if p.Key.Curve != elliptic.P256() || !p.Key.PublicKey.Equal(p.Cert.PublicKey) {
			t.Fatalf("key on %s, or not the certificate's key", p.Key.Curve.Params().Name)
		}
		serial := p.Cert.SerialNumber
		if serial.Sign() <= 0 || serial.BitLen() > 128 || seen[serial.String()] {
			t.Fatalf("serial %s: not positive, too long or seen before", serial)
		}
		seen[serial.String()] = true
	}
	// A given serial number is kept; the caller's template is not changed.
	tmpl := ServerTemplate("x", nil, time.Now(), time.Now().Add(time.Hour))
	if _, err := ca.Issue(tmpl); err != nil || tmpl.SerialNumber != nil {
		t.Fatalf("Issue: %v; template serial %v, want it untouched", err, tmpl.SerialNumber)
	}
}

func TestCATemplate(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	tmpl := CATemplate(pkix.Name{CommonName: "c", Organization: []string{"o"}}, now.Add(-time.Hour), now.AddDate(5, 0, 0))
	tmpl.MaxPathLenZero = true
	c := selfSigned(t, tmpl).Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign ||
		!c.MaxPathLenZero || c.MaxPathLen != 0 {
		t.Errorf("CA %v, constraints %v, usage %v, max path length zero %v", c.IsCA, c.BasicConstraintsValid, c.KeyUsage, c.MaxPathLenZero)
	}
	if !c.NotBefore.Equal(now.Add(-time.Hour)) || !c.NotAfter.Equal(now.AddDate(5, 0, 0)) {
		t.Errorf("valid from %s to %s", c.NotBefore, c.NotAfter)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
}

func TestIssueNeedsACA(t *testing.T) {
	ca := newCA(t)
	leaf, err := ca.IssueServer([]string{"a.example"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.IssueServer([]string{"b.example"}, time.Hour); err == nil || !strings.Contains(err.Error(), "not a CA") {
		t.Fatalf("a server certificate issued a certificate: %v", err)
	}
}

func TestPEM(t *testing.T) {
	ca := newCA(t)
	certPEM, sec1, sec1Err := ca.PEM()
	pkcs8, pkcs8Err := ca.PKCS8KeyPEM()
	pub, pubErr := EncodePublicKey(&ca.Key.PublicKey)
	if err := errors.Join(sec1Err, pkcs8Err, pubErr); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(sec1), "-----BEGIN EC PRIVATE KEY-----") ||
		!strings.HasPrefix(string(pkcs8), "-----BEGIN PRIVATE KEY-----") ||
		!strings.HasPrefix(string(pub), "-----BEGIN PUBLIC KEY-----") ||
		!strings.HasPrefix(string(certPEM), "-----BEGIN CERTIFICATE-----") || string(certPEM) != string(ca.CertPEM()) {
		t.Fatalf("PEM block types:\n%s%s%s%s", sec1, pkcs8, pub, certPEM)
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{name: "SEC 1", data: sec1},
		{name: "PKCS 8", data: pkcs8},
		{name: "empty", data: nil, wantErr: "not PEM"},
		{name: "not PEM", data: []byte("hello"), wantErr: "not PEM"},
		{name: "a certificate", data: ca.CertPEM(), wantErr: `"CERTIFICATE" PEM block`},
		{name: "a public key", data: pub, wantErr: `"PUBLIC KEY" PEM block`},
		{name: "a broken key", data: []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"), wantErr: "x509"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParseECKeyPEM(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseECKeyPEM: %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !key.Equal(ca.Key) {
				t.Fatalf("ParseECKeyPEM: %v; same key %v", err, err == nil && key.Equal(ca.Key))
			}
		})
	}
	cert, err := ParseCertificatePEM(append(ca.CertPEM(), sec1...))
	if err != nil || !cert.Equal(ca.Cert) {
		t.Fatalf("ParseCertificatePEM: %v", err)
	}
	for _, bad := range [][]byte{nil, []byte("x"), sec1} {
		if _, err := ParseCertificatePEM(bad); err == nil {
			t.Errorf("ParseCertificatePEM(%.30q) parsed", bad)
		}
	}
}

// A PKCS #8 key of another type is refused: a Pair holds ECDSA keys.
func TestParseECKeyPEMRefusesOtherKeyTypes(t *testing.T) {
	der, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if _, err := ParseECKeyPEM(data); err == nil || !strings.Contains(err.Error(), "ECDSA private key was expected") {
		t.Fatalf("ParseECKeyPEM(ed25519 key): %v", err)
	}
}
