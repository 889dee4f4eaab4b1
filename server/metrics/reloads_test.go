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

package metrics_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pier-dev/pier/internal/testsupport/metricsum"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
	"github.com/pier-dev/pier/server/certs"
	"github.com/pier-dev/pier/server/metrics"
)

// gauge is the value of the one series of name in registry whose labels include want; it fails the test when
// there is no such series.
func gauge(t *testing.T, registry prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	m := metricsum.Series(t, registry, name, want)
	if m == nil {
		t.Fatalf("no series %s%v", name, want)
	}
	return m.GetGauge().GetValue()
}

// The served certificate's expiry is exported as it is on disk at scrape time: a renewal shows its new date, and
// a renewal that cannot be loaded shows as a failed reload while the old date (the certificate still served)
// stays.
func TestCertificateMetrics(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	firstExpiry := time.Now().Add(10 * 24 * time.Hour).Truncate(time.Second)
	writePair(t, certFile, keyFile, firstExpiry)
	r, err := certs.NewReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	r.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New(func() int { return 0 })
	m.WatchCertificate("ftp", r)

	ftp := map[string]string{"protocol": "ftp"}
	expiry := func() float64 {
		return gauge(t, m.Registry, "pier_tls_certificate_expiry_timestamp_seconds", map[string]string{"protocol": "ftp", "name": "localhost"})
	}
	if got := expiry(); got != float64(firstExpiry.Unix()) {
		t.Errorf("expiry %v, want %v", got, firstExpiry.Unix())
	}
	if got := gauge(t, m.Registry, "pier_tls_certificate_last_reload_successful", ftp); got != 1 {
		t.Errorf("last reload successful = %v after the first load, want 1", got)
	}
	loadedAt := gauge(t, m.Registry, "pier_tls_certificate_last_reload_success_timestamp_seconds", ftp)

	// A renewal whose key does not match its certificate: refused, the old certificate stays.
	other := filepath.Join(dir, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	writePair(t, filepath.Join(other, "tls.crt"), filepath.Join(other, "tls.key"), firstExpiry)
	key, err := os.ReadFile(filepath.Join(other, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	testcreds.WriteFileAtomic(t, keyFile, key)
	if got := gauge(t, m.Registry, "pier_tls_certificate_last_reload_successful", ftp); got != 0 {
		t.Errorf("last reload successful = %v with a key that does not match, want 0", got)
	}
	if got := expiry(); got != float64(firstExpiry.Unix()) {
		t.Errorf("expiry %v while the renewal is refused, want the served certificate's %v", got, firstExpiry.Unix())
	}

	renewed := firstExpiry.Add(80 * 24 * time.Hour)
	writePair(t, certFile, keyFile, renewed)
	if got := expiry(); got != float64(renewed.Unix()) {
		t.Errorf("expiry %v after the renewal, want %v", got, renewed.Unix())
	}
	if got := gauge(t, m.Registry, "pier_tls_certificate_last_reload_successful", ftp); got != 1 {
		t.Errorf("last reload successful = %v after a good renewal, want 1", got)
	}
	if got := gauge(t, m.Registry, "pier_tls_certificate_last_reload_success_timestamp_seconds", ftp); got < loadedAt {
		t.Errorf("last success at %v after the renewal, before the first load's %v", got, loadedAt)
	}
}

// writePair writes a self-signed certificate for localhost that expires at notAfter, and its key; the key first,
// so the pair on disk never has a certificate without its key.
func writePair(t *testing.T, certFile, keyFile string, notAfter time.Time) {
	t.Helper()
	certPEM, keyPEM := testcreds.SelfSignedValidity(t, "pier-test", time.Now().Add(-time.Hour), notAfter)
	testcreds.WriteFileAtomic(t, keyFile, keyPEM)
	testcreds.WriteFileAtomic(t, certFile, certPEM)
}

func TestBuildInfo(t *testing.T) {
	m := metrics.New(func() int { return 0 })
	m.SetBuild("1.2.3", "abc123")
	m.SetBuild("1.2.4", "def456") // a second call replaces the series rather than adding one
	if got := gauge(t, m.Registry, "pier_build_info", map[string]string{"version": "1.2.4", "revision": "def456"}); got != 1 {
		t.Errorf("pier_build_info = %v, want 1", got)
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "pier_build_info" && len(f.GetMetric()) != 1 {
			t.Errorf("pier_build_info has %d series, want 1", len(f.GetMetric()))
		}
	}
}
