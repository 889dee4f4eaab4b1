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

package certinfo

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/pki"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

var (
	notBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
)

// pair returns a self-signed certificate for dnsNames, valid from notBefore to notAfter, and its key, as PEM.
func pair(t *testing.T, notBefore, notAfter time.Time, dnsNames ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	tmpl := pki.ServerTemplate("ftp.example.com", dnsNames, notBefore, notAfter)
	tmpl.Subject.Organization = []string{"Example"}
	p, err := pki.SelfSign(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err = p.PEM()
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

func readFile(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestInspectValid(t *testing.T) {
	certPEM, keyPEM := pair(t, notBefore, notAfter, "ftp.example.com", "*.files.example.com")
	ca := testcreds.NewCA(t)
	caCert, caKey := readFile(t, ca.CertFile), readFile(t, ca.KeyFile)
	caPEM := readFile(t, ca.CAFile)

	tests := []struct {
		name string
		data map[string][]byte
		now  time.Time
		want Info
	}{
		{
			name: "self-signed",
			data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM},
			now:  notBefore.Add(24 * time.Hour),
			want: Info{NotBefore: notBefore, NotAfter: notAfter,
				DNSNames: []string{"ftp.example.com", "*.files.example.com"}, Issuer: "CN=ftp.example.com,O=Example"},
		},
		{
			name: "first second of validity",
			data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM},
			now:  notBefore,
			want: Info{NotBefore: notBefore, NotAfter: notAfter,
				DNSNames: []string{"ftp.example.com", "*.files.example.com"}, Issuer: "CN=ftp.example.com,O=Example"},
		},
		{
			name: "last second of validity",
			data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM},
			now:  notAfter,
			want: Info{NotBefore: notBefore, NotAfter: notAfter,
				DNSNames: []string{"ftp.example.com", "*.files.example.com"}, Issuer: "CN=ftp.example.com,O=Example"},
		},
		{
			name: "issued by a CA, with ca.crt and other keys in the Secret",
			data: map[string][]byte{"tls.crt": caCert, "tls.key": caKey, "ca.crt": caPEM, "other": []byte("x")},
			now:  time.Now(),
			want: Info{NotBefore: ca.Cert.NotBefore, DNSNames: []string{"localhost"}, Issuer: "CN=pier test CA"},
		},
		{
			name: "chain: leaf then CA",
			data: map[string][]byte{"tls.crt": append(slices.Clone(caCert), caPEM...), "tls.key": caKey},
			now:  time.Now(),
			want: Info{NotBefore: ca.Cert.NotBefore, DNSNames: []string{"localhost"}, Issuer: "CN=pier test CA"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Inspect(tt.data, tt.now)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			checkInfo(t, info, tt.want)
		})
	}
}

func TestInspectValidityPeriod(t *testing.T) {
	certPEM, keyPEM := pair(t, notBefore, notAfter, "ftp.example.com")
	data := map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}
	want := Info{NotBefore: notBefore, NotAfter: notAfter, DNSNames: []string{"ftp.example.com"},
		Issuer: "CN=ftp.example.com,O=Example"}
	tests := []struct {
		name    string
		now     time.Time
		wantIs  error
		wantErr []string
	}{
		{
			name:    "expired",
			now:     notAfter.Add(time.Second),
			wantIs:  ErrExpired,
			wantErr: []string{"expired at 2026-04-01T00:00:00Z", "valid from 2026-01-01T00:00:00Z", "renew"},
		},
		{
			name:    "expired long ago, in another time zone",
			now:     notAfter.AddDate(1, 0, 0).In(time.FixedZone("CET", 3600)),
			wantIs:  ErrExpired,
			wantErr: []string{"expired at 2026-04-01T00:00:00Z"},
		},
		{
			name:   "not valid yet",
			now:    notBefore.Add(-time.Second),
			wantIs: ErrNotYetValid,
			wantErr: []string{"not valid yet", "valid from 2026-01-01T00:00:00Z to 2026-04-01T00:00:00Z",
				"now 2025-12-31T23:59:59Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Inspect(data, tt.now)
			if err == nil {
				t.Fatal("Inspect: no error")
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q does not wrap %v", err, tt.wantIs)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			// Status shows notAfter even for an expired certificate.
			checkInfo(t, info, want)
		})
	}
}

func TestInspectErrors(t *testing.T) {
	certPEM, keyPEM := pair(t, notBefore, notAfter, "ftp.example.com")
	otherCert, otherKey := pair(t, notBefore, notAfter, "ftp.example.com")
	now := notBefore.Add(time.Hour)
	tests := []struct {
		name    string
		data    map[string][]byte
		wantErr []string
	}{
		{name: "nil", data: nil, wantErr: []string{"neither tls.crt nor tls.key"}},
		{name: "no tls.crt", data: map[string][]byte{"tls.key": keyPEM}, wantErr: []string{"no tls.crt"}},
		{name: "no tls.key", data: map[string][]byte{"tls.crt": certPEM}, wantErr: []string{"no tls.key"}},
		{
			name:    "other key names",
			data:    map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM},
			wantErr: []string{"neither tls.crt nor tls.key"},
		},
		{name: "empty tls.crt", data: map[string][]byte{"tls.crt": {}, "tls.key": keyPEM}, wantErr: []string{"tls.crt is empty"}},
		{name: "empty tls.key", data: map[string][]byte{"tls.crt": certPEM, "tls.key": nil}, wantErr: []string{"tls.key is empty"}},
		{
			name:    "garbage certificate",
			data:    map[string][]byte{"tls.crt": []byte("not PEM"), "tls.key": keyPEM},
			wantErr: []string{"not a usable certificate and private key pair", "certificate input"},
		},
		{
			name:    "garbage key",
			data:    map[string][]byte{"tls.crt": certPEM, "tls.key": []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
			wantErr: []string{"not a usable certificate and private key pair"},
		},
		{
			name:    "certificate in the wrong key",
			data:    map[string][]byte{"tls.crt": keyPEM, "tls.key": certPEM},
			wantErr: []string{"not a usable certificate and private key pair"},
		},
		{
			name:    "mismatched pair",
			data:    map[string][]byte{"tls.crt": certPEM, "tls.key": otherKey},
			wantErr: []string{"not a usable certificate and private key pair", "does not match"},
		},
		{
			name:    "chain in the wrong order",
			data:    map[string][]byte{"tls.crt": append(slices.Clone(otherCert), certPEM...), "tls.key": keyPEM},
			wantErr: []string{"not a usable certificate and private key pair", "certificate first"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Inspect(tt.data, now)
			if err == nil {
				t.Fatalf("Inspect = %+v, want an error", info)
			}
			if errors.Is(err, ErrExpired) || errors.Is(err, ErrNotYetValid) {
				t.Errorf("error %q claims a validity problem", err)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if !info.NotAfter.IsZero() || info.Issuer != "" || info.DNSNames != nil {
				t.Errorf("Inspect returned %+v with a broken Secret, want an empty Info", info)
			}
		})
	}
}

// checkInfo compares info with want; a zero want.NotAfter means "not checked" (testcreds picks it from the clock).
func checkInfo(t *testing.T, info, want Info) {
	t.Helper()
	if !info.NotBefore.Equal(want.NotBefore) {
		t.Errorf("NotBefore = %v, want %v", info.NotBefore, want.NotBefore)
	}
	if !want.NotAfter.IsZero() && !info.NotAfter.Equal(want.NotAfter) {
		t.Errorf("NotAfter = %v, want %v", info.NotAfter, want.NotAfter)
	}
	if info.NotAfter.IsZero() {
		t.Error("NotAfter is zero")
	}
	if !slices.Equal(info.DNSNames, want.DNSNames) {
		t.Errorf("DNSNames = %q, want %q", info.DNSNames, want.DNSNames)
	}
	if info.Issuer != want.Issuer {
		t.Errorf("Issuer = %q, want %q", info.Issuer, want.Issuer)
	}
}
