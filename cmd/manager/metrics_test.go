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

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pier-dev/pier/internal/pki"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

// TestMetricsServesMountedCertificate runs controller-runtime's metrics server with the options the manager builds
// from --metrics-cert-path, as the chart and config/components/metrics-cert mount a cert-manager Secret: a scraper
// that trusts only the CA (the ServiceMonitor's tlsConfig.ca) verifies the endpoint, and a renewed certificate is
// served without a restart.
func TestMetricsServesMountedCertificate(t *testing.T) {
	ca, err := pki.SelfSign(pki.CATemplate(pkix.Name{CommonName: "pier metrics test CA"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first := writeServing(t, ca, dir)

	opts, watcher, err := metricsOptions(metricsFlags{secure: true, certPath: dir, certName: "tls.crt", keyName: "tls.key"})
	if err != nil {
		t.Fatal(err)
	}
	if watcher == nil {
		t.Fatal("no certificate watcher for --metrics-cert-path")
	}
	// The authentication filter needs an API server; what is tested here is the certificate.
	opts.FilterProvider = nil
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = watcher.Start(ctx) }()
	addr := startMetricsServer(ctx, t, opts)

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	scrape := func() (*x509.Certificate, error) {
		client := &http.Client{Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: "pier-controller-manager-metrics-service.pier-system.svc"},
			DisableKeepAlives: true,
		}}
		resp, err := client.Get("https://" + addr + "/metrics")
		if err != nil {
			return nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "# HELP") {
			return nil, fmt.Errorf("GET /metrics: %s\n%.200s", resp.Status, body)
		}
		return resp.TLS.PeerCertificates[0], nil
	}
	served, err := scrape()
	if err != nil {
		t.Fatalf("a scraper trusting only the CA cannot scrape: %v", err)
	}
	if !served.Equal(first) {
		t.Fatalf("served serial %s, want the mounted certificate's %s", served.SerialNumber, first.SerialNumber)
	}

	// A scraper that does not trust the CA is refused: the certificate is what it verifies against.
	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if resp, err := untrusting.Get("https://" + addr + "/metrics"); err == nil {
		_ = resp.Body.Close()
		t.Fatal("a client without the CA verified the metrics endpoint")
	}

	// cert-manager renews: the Secret's files change under the mount.
	renewed := writeServing(t, ca, dir)
	poll.Until(t, "the renewed certificate is served", 30*time.Second, func() error {
		served, err := scrape()
		if err != nil {
			return err
		}
		if !served.Equal(renewed) {
			return fmt.Errorf("still serving serial %s, want %s", served.SerialNumber, renewed.SerialNumber)
		}
		return nil
	})
}

// TestMetricsCertificateErrors: a --metrics-cert-path that cannot be served stops the manager with a message,
// instead of falling back to a self-signed certificate that every verifying scrape would refuse.
func TestMetricsCertificateErrors(t *testing.T) {
	empty := t.TempDir()
	if _, _, err := metricsOptions(metricsFlags{secure: true, certPath: empty, certName: "tls.crt", keyName: "tls.key"}); err == nil ||
		!strings.Contains(err.Error(), "loading the metrics certificate from "+empty) {
		t.Errorf("missing files: error %v", err)
	}
	if _, _, err := metricsOptions(metricsFlags{secure: false, certPath: empty}); err == nil ||
		!strings.Contains(err.Error(), "--metrics-cert-path needs --metrics-secure") {
		t.Errorf("plain HTTP with a certificate: error %v", err)
	}
	// Without a path there is no watcher, and controller-runtime's self-signed certificate is served as before.
	if _, watcher, err := metricsOptions(metricsFlags{secure: true}); err != nil || watcher != nil {
		t.Errorf("no --metrics-cert-path: watcher %v, error %v", watcher, err)
	}
}

// writeServing issues a serving certificate for the metrics Service's DNS name into dir as tls.crt and tls.key,
// replacing what is there, and returns it.
func writeServing(t *testing.T, ca *pki.Pair, dir string) *x509.Certificate {
	t.Helper()
	pair, err := ca.IssueServer([]string{"pier-controller-manager-metrics-service.pier-system.svc"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := pair.WriteFiles(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")); err != nil {
		t.Fatal(err)
	}
	return pair.Cert
}

// startMetricsServer starts the metrics server on a free port of 127.0.0.1 and returns its address. The server
// binds the address itself and does not report it, so the port is found free first, and another is tried when
// something took it in between.
func startMetricsServer(ctx context.Context, t *testing.T, opts metricsserver.Options) string {
	t.Helper()
	for attempt := 0; attempt < 5; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		opts.BindAddress = addr
		srv, err := metricsserver.NewServer(opts, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Start(ctx) }()
		var up error
		poll.Until(t, "the metrics server listens or fails", 30*time.Second, func() error {
			select {
			case up = <-done:
				return nil
			default:
			}
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return err
			}
			_ = conn.Close()
			return nil
		})
		if up == nil {
			return addr
		}
		if !errors.Is(up, context.Canceled) && !strings.Contains(up.Error(), "address already in use") {
			t.Fatalf("the metrics server failed: %v", up)
		}
	}
	t.Fatal("no free port for the metrics server")
	return ""
}
