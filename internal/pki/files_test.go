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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mode(t *testing.T, file string) os.FileMode {
	t.Helper()
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func TestWriteFilesAndLoadPair(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := ca.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, keyFile); m != 0o600 {
		t.Errorf("key file mode %v, want 0600", m)
	}
	if m := mode(t, certFile); m != 0o644 {
		t.Errorf("certificate file mode %v, want 0644", m)
	}
	got, err := LoadPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Cert.Equal(ca.Cert) || !got.Key.Equal(ca.Key) {
		t.Fatal("LoadPair read another pair than WriteFiles wrote")
	}

	other := newCA(t)
	otherKey, otherCert := filepath.Join(dir, "other.key"), filepath.Join(dir, "other.crt")
	if err := other.WriteFiles(otherCert, otherKey); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not-pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cert, key, wantErr string
	}{
		{"missing certificate", filepath.Join(dir, "missing"), keyFile, "no such file"},
		{"missing key", certFile, filepath.Join(dir, "missing"), "no such file"},
		{"key of another certificate", certFile, otherKey, "is not the key of the certificate"},
		{"certificate not PEM", notPEM, keyFile, notPEM + ": not PEM"},
		{"key not PEM", certFile, notPEM, notPEM + ": not PEM"},
		{"key and certificate swapped", keyFile, certFile, `"EC PRIVATE KEY" PEM block where a certificate`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LoadPair(tc.cert, tc.key); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("LoadPair: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestOpenCA(t *testing.T) {
	subject := pkix.Name{CommonName: "pier test CA"}
	now := time.Now()
	year := CATemplate(subject, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	for _, tc := range []struct {
		name string
		// prepare leaves dir as the test needs it and returns the CA that must be kept, nil for a new one.
		prepare     func(t *testing.T, dir string) *Pair
		renewBefore time.Duration
		wantErr     string
	}{
		{name: "no folder yet", prepare: func(t *testing.T, dir string) *Pair { return nil }},
		{name: "valid: kept", prepare: func(t *testing.T, dir string) *Pair {
			return writeCA(t, dir, selfSigned(t, CATemplate(subject, now.Add(-time.Hour), now.Add(time.Hour))))
		}},
		{name: "valid for longer than renewBefore: kept", renewBefore: 30 * 24 * time.Hour,
			prepare: func(t *testing.T, dir string) *Pair {
				return writeCA(t, dir, selfSigned(t, CATemplate(subject, now.Add(-time.Hour), now.Add(31*24*time.Hour))))
			}},
		{name: "expired: replaced", prepare: func(t *testing.T, dir string) *Pair {
			writeCA(t, dir, selfSigned(t, CATemplate(subject, now.Add(-2*time.Hour), now.Add(-time.Hour))))
			return nil
		}},
		{name: "within renewBefore: replaced", renewBefore: 30 * 24 * time.Hour,
			prepare: func(t *testing.T, dir string) *Pair {
				writeCA(t, dir, selfSigned(t, CATemplate(subject, now.Add(-time.Hour), now.Add(29*24*time.Hour))))
				return nil
			}},
		{name: "key missing: replaced", prepare: func(t *testing.T, dir string) *Pair {
			writeCA(t, dir, selfSigned(t, CATemplate(subject, now.Add(-time.Hour), now.Add(time.Hour))))
			if err := os.Remove(filepath.Join(dir, CAKeyFile)); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
		{name: "certificate missing: replaced", prepare: func(t *testing.T, dir string) *Pair {
			writeCA(t, dir, selfSigned(t, CATemplate(subject, now.Add(-time.Hour), now.Add(time.Hour))))
			if err := os.Remove(filepath.Join(dir, CACertFile)); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
		{name: "broken key: an error, not a silent new CA", wantErr: "delete ca.crt and ca.key",
			prepare: func(t *testing.T, dir string) *Pair {
				writeCA(t, dir, selfSigned(t, CATemplate(subject, now.Add(-time.Hour), now.Add(time.Hour))))
				if err := os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("garbage"), 0o600); err != nil {
					t.Fatal(err)
				}
				return nil
			}},
		{name: "not a CA", wantErr: "not a CA certificate", prepare: func(t *testing.T, dir string) *Pair {
			leaf, err := newCA(t).IssueServer([]string{"a.example"}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			writeCA(t, dir, leaf)
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ca")
			kept := tc.prepare(t, dir)
			before, _ := os.ReadFile(filepath.Join(dir, CACertFile))
			ca, err := OpenCA(dir, year, tc.renewBefore)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("OpenCA: %v, want an error containing %q", err, tc.wantErr)
				}
				if after, _ := os.ReadFile(filepath.Join(dir, CACertFile)); string(after) != string(before) {
					t.Error("OpenCA replaced the CA it refused")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkOpened(t, ca, dir, kept, year, tc.renewBefore)
		})
	}
}

// checkOpened checks the CA OpenCA returned from dir: kept when kept is not nil, else made from tmpl; on disk with
// the right modes; and kept by the next OpenCA.
func checkOpened(t *testing.T, ca *CA, dir string, kept *Pair, tmpl *x509.Certificate, renewBefore time.Duration) {
	t.Helper()
	if ca.CertFile != filepath.Join(dir, CACertFile) {
		t.Errorf("CertFile %s", ca.CertFile)
	}
	switch {
	case kept != nil && !ca.Cert.Equal(kept.Cert):
		t.Fatal("a valid CA was replaced")
	case kept == nil && !ca.Cert.NotAfter.Equal(tmpl.NotAfter.Truncate(time.Second)):
		t.Fatalf("the CA was not made from the template: valid until %s", ca.Cert.NotAfter)
	}
	again, err := OpenCA(dir, tmpl, renewBefore)
	if err != nil || !again.Cert.Equal(ca.Cert) || !again.Key.Equal(ca.Key) {
		t.Fatalf("a second OpenCA did not keep the CA: %v", err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("folder mode %v, want 0700", m)
	}
	if m := mode(t, filepath.Join(dir, CAKeyFile)); m != 0o600 {
		t.Errorf("key mode %v, want 0600", m)
	}
}

// writeCA writes pair into dir as OpenCA keeps a CA, and returns it.
func writeCA(t *testing.T, dir string, pair *Pair) *Pair {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := pair.WriteFiles(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)); err != nil {
		t.Fatal(err)
	}
	return pair
}
