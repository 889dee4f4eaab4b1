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

package metrics

import (
	"crypto/tls"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FileSource is key material that pier-server reloads from files when they change (TLS certificates, SSH host
// keys). LoadState re-reads the files first if they changed, then reports whether the files as they are now
// loaded, and when files last loaded. Asking at scrape time means a renewal that cannot be loaded shows up (and
// alerts) even on a server no client has connected to since, rather than at the next handshake.
type FileSource interface {
	LoadState() (ok bool, lastSuccess time.Time)
}

// CertificateSource is a served TLS certificate (certs.Reloader).
type CertificateSource interface {
	FileSource
	// Certificate returns the certificate in use.
	Certificate() (*tls.Certificate, error)
}

var (
	certExpiryDesc = prometheus.NewDesc("pier_tls_certificate_expiry_timestamp_seconds",
		"When the served TLS certificate expires (its NotAfter), in seconds since the Unix epoch, by protocol and "+
			"name (the certificate's first DNS name, else its common name).",
		[]string{labelProtocol, "name"}, nil)
	tlsReloadedDesc = prometheus.NewDesc("pier_tls_certificate_last_reload_successful",
		"1 when the TLS certificate files, as they are now, loaded; 0 while they do not (the previous certificate "+
			"is still served).", []string{labelProtocol}, nil)
	tlsReloadedAtDesc = prometheus.NewDesc("pier_tls_certificate_last_reload_success_timestamp_seconds",
		"When the TLS certificate files last loaded, in seconds since the Unix epoch.", []string{labelProtocol}, nil)
	hostKeysReloadedDesc = prometheus.NewDesc("pier_host_keys_last_reload_successful",
		"1 when the SSH host key files, as they are now, loaded; 0 while they do not (the previous keys are still "+
			"offered).", nil, nil)
	hostKeysReloadedAtDesc = prometheus.NewDesc("pier_host_keys_last_reload_success_timestamp_seconds",
		"When the SSH host key files last loaded, in seconds since the Unix epoch.", nil, nil)
)

// WatchCertificate exports the expiry and reload state of the certificate protocol serves.
func (m *Metrics) WatchCertificate(protocol string, source CertificateSource) {
	if m != nil {
		m.Registry.MustRegister(certificateCollector{protocol: protocol, source: source})
	}
}

// WatchHostKeys exports the reload state of the SSH host keys.
func (m *Metrics) WatchHostKeys(source FileSource) {
	if m != nil {
		m.Registry.MustRegister(hostKeysCollector{source: source})
	}
}

type certificateCollector struct {
	protocol string
	source   CertificateSource
}

func (c certificateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- certExpiryDesc
	ch <- tlsReloadedDesc
	ch <- tlsReloadedAtDesc
}

func (c certificateCollector) Collect(ch chan<- prometheus.Metric) {
	ok, at := c.source.LoadState()
	ch <- prometheus.MustNewConstMetric(tlsReloadedDesc, prometheus.GaugeValue, boolValue(ok), c.protocol)
	ch <- prometheus.MustNewConstMetric(tlsReloadedAtDesc, prometheus.GaugeValue, unixSeconds(at), c.protocol)
	cert, err := c.source.Certificate()
	if err != nil || cert == nil || cert.Leaf == nil {
		return // the reload gauges already say what is wrong
	}
	name := cert.Leaf.Subject.CommonName
	if len(cert.Leaf.DNSNames) > 0 {
		name = cert.Leaf.DNSNames[0]
	}
	ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, unixSeconds(cert.Leaf.NotAfter),
		c.protocol, name)
}

type hostKeysCollector struct{ source FileSource }

func (c hostKeysCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- hostKeysReloadedDesc
	ch <- hostKeysReloadedAtDesc
}

func (c hostKeysCollector) Collect(ch chan<- prometheus.Metric) {
	ok, at := c.source.LoadState()
	ch <- prometheus.MustNewConstMetric(hostKeysReloadedDesc, prometheus.GaugeValue, boolValue(ok))
	ch <- prometheus.MustNewConstMetric(hostKeysReloadedAtDesc, prometheus.GaugeValue, unixSeconds(at))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds keeps sub-second precision, as prometheus.Gauge's SetToCurrentTime does.
func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
