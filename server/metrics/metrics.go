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

// Package metrics holds pier-server's Prometheus metrics. Every method is safe on a nil *Metrics, so protocol
// code and tests can run without a registry.
package metrics

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Label names shared by several metrics.
const (
	labelProtocol  = "protocol"
	labelResult    = "result"
	labelDirection = "direction"
)

// Metrics are the server's counters and gauges, registered in their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	connections     *prometheus.CounterVec
	openConnections *prometheus.GaugeVec
	rejected        *prometheus.CounterVec
	logins          *prometheus.CounterVec
	bytes           *prometheus.CounterVec
	transfers       *prometheus.CounterVec
	bans            prometheus.GaugeFunc
	reloads         *prometheus.CounterVec
	revoked         *prometheus.CounterVec
	buildInfo       *prometheus.GaugeVec

	transferSeconds *prometheus.HistogramVec
	transferBytes   *prometheus.HistogramVec

	configReloaded   prometheus.Gauge
	configReloadedAt prometheus.Gauge
}

// New registers every metric, plus the Go runtime and process collectors, in a new registry. banned reports
// how many addresses are banned now.
func New(banned func() int) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pier_connections_total", Help: "Client connections accepted, by protocol.",
		}, []string{labelProtocol}),
		openConnections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pier_connections_open", Help: "Client connections open now, by protocol.",
		}, []string{labelProtocol}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pier_connections_rejected_total",
			Help: "Connections refused before login, by protocol and reason (banned, source, limit).",
		}, []string{labelProtocol, "reason"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pier_logins_total", Help: "Login attempts, by protocol, method and result.",
		}, []string{labelProtocol, "method", labelResult}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pier_transfer_bytes_total", Help: "File bytes moved, by protocol and direction (in = upload).",
		}, []string{labelProtocol, labelDirection}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pier_file_operations_total", Help: "File operations, by protocol, operation and result.",
		}, []string{labelProtocol, "op", labelResult}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pier_config_reloads_total",
			Help: "Configuration reloads, by source (file, api) and result (success, error).",
		}, []string{"source", labelResult}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pier_sessions_revoked_total",
			Help: "Open sessions ended because a configuration change restricted their user, by protocol and reason.",
		}, []string{labelProtocol, "reason"}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pier_build_info",
			Help: "Always 1; the labels say which pier-server build this is.",
		}, []string{"version", "revision", "goversion"}),
		transferSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pier_transfer_duration_seconds",
			Help:    "How long file transfers took, from open to close, by protocol, direction (in = upload) and result.",
			Buckets: transferSecondsBuckets,
		}, []string{labelProtocol, labelDirection, labelResult}),
		transferBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pier_transfer_size_bytes",
			Help:    "Bytes moved by each file transfer, by protocol, direction (in = upload) and result.",
			Buckets: transferBytesBuckets,
		}, []string{labelProtocol, labelDirection, labelResult}),
		configReloaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pier_config_last_reload_successful",
			Help: "1 when the last configuration read (at start or on a change) was applied, 0 when it was refused.",
		}),
		configReloadedAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pier_config_last_reload_success_timestamp_seconds",
			Help: "When a configuration was last applied, in seconds since the Unix epoch.",
		}),
	}
	m.bans = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pier_banned_addresses", Help: "Client addresses banned now after too many failed logins.",
	}, func() float64 { return float64(banned()) })
	m.Registry.MustRegister(m.connections, m.openConnections, m.rejected, m.logins, m.bytes, m.transfers,
		m.bans, m.reloads, m.revoked, m.buildInfo, m.transferSeconds, m.transferBytes, m.configReloaded,
		m.configReloadedAt, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Transfer buckets cover what a file server sees: from a small file over a LAN (milliseconds, kilobytes) to a
// multi-gigabyte upload over a slow link (an hour or more). The defaults of client_golang stop at 10 s and have
// no sizes at all.
var (
	transferSecondsBuckets = []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200}
	// 1 KiB to 16 GiB, times 4 each step.
	transferBytesBuckets = prometheus.ExponentialBuckets(1024, 4, 13)
)

// SetBuild sets pier_build_info: version and revision are the build's (see cmd/pier-server's version.go).
func (m *Metrics) SetBuild(version, revision string) {
	if m != nil {
		m.buildInfo.Reset()
		m.buildInfo.WithLabelValues(version, revision, runtime.Version()).Set(1)
	}
}

// ConnectionOpened counts an accepted connection and returns the function to call when it closes.
func (m *Metrics) ConnectionOpened(protocol string) (closed func()) {
	if m == nil {
		return func() {}
	}
	m.connections.WithLabelValues(protocol).Inc()
	open := m.openConnections.WithLabelValues(protocol)
	open.Inc()
	return open.Dec
}

// ConnectionRejected counts a connection refused before login.
func (m *Metrics) ConnectionRejected(protocol, reason string) {
	if m != nil {
		m.rejected.WithLabelValues(protocol, reason).Inc()
	}
}

// Login counts a login attempt; result is "success" or a short failure reason.
func (m *Metrics) Login(protocol, method, result string) {
	if m != nil {
		m.logins.WithLabelValues(protocol, method, result).Inc()
	}
}

// transferDirections are the file operations that are transfers, with their direction label: they alone go into
// the transfer histograms (a listing or a rename has no size worth a bucket).
var transferDirections = map[string]string{"upload": "in", "download": "out"}

// FileOperation counts one file operation and the bytes it moved; an upload or download also goes into the
// transfer histograms, with took, the time from opening the file to closing it.
func (m *Metrics) FileOperation(protocol, op, result string, took time.Duration, bytesIn, bytesOut int64) {
	if m == nil {
		return
	}
	m.transfers.WithLabelValues(protocol, op, result).Inc()
	if direction, ok := transferDirections[op]; ok {
		moved := bytesIn
		if direction == "out" {
			moved = bytesOut
		}
		m.transferSeconds.WithLabelValues(protocol, direction, result).Observe(took.Seconds())
		m.transferBytes.WithLabelValues(protocol, direction, result).Observe(float64(moved))
	}
	if bytesIn > 0 {
		m.bytes.WithLabelValues(protocol, "in").Add(float64(bytesIn))
	}
	if bytesOut > 0 {
		m.bytes.WithLabelValues(protocol, "out").Add(float64(bytesOut))
	}
}

// ConfigLoaded records the configuration the server started with: pier_config_last_reload_successful is 1 from
// the start, as Prometheus' own prometheus_config_last_reload_successful is, so an alert on 0 means a change was
// refused rather than that nothing changed yet.
func (m *Metrics) ConfigLoaded() {
	if m != nil {
		m.configReloaded.Set(1)
		m.configReloadedAt.SetToCurrentTime()
	}
}

// ConfigReload counts a configuration reload from source: "file" (the mounted file) or "api" (the config
// Secret, read through the Kubernetes API), and sets the last-reload gauges.
func (m *Metrics) ConfigReload(source string, ok bool) {
	if m == nil {
		return
	}
	result := "success"
	if !ok {
		result = "error"
	}
	m.reloads.WithLabelValues(source, result).Inc()
	if !ok {
		m.configReloaded.Set(0)
		return
	}
	m.ConfigLoaded()
}

// SessionRevoked counts an open session ended because a configuration change restricted its user; reason is
// one of auth.Reason's values.
func (m *Metrics) SessionRevoked(protocol, reason string) {
	if m != nil {
		m.revoked.WithLabelValues(protocol, reason).Inc()
	}
}
