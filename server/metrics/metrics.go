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
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Label names shared by several metrics.
const (
	labelProtocol = "protocol"
	labelResult   = "result"
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
		}, []string{labelProtocol, "direction"}),
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
	}
	m.bans = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pier_banned_addresses", Help: "Client addresses banned now after too many failed logins.",
	}, func() float64 { return float64(banned()) })
	m.Registry.MustRegister(m.connections, m.openConnections, m.rejected, m.logins, m.bytes, m.transfers,
		m.bans, m.reloads, m.revoked, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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

// FileOperation counts one file operation and the bytes it moved.
func (m *Metrics) FileOperation(protocol, op, result string, bytesIn, bytesOut int64) {
	if m == nil {
		return
	}
	m.transfers.WithLabelValues(protocol, op, result).Inc()
	if bytesIn > 0 {
		m.bytes.WithLabelValues(protocol, "in").Add(float64(bytesIn))
	}
	if bytesOut > 0 {
		m.bytes.WithLabelValues(protocol, "out").Add(float64(bytesOut))
	}
}

// ConfigReload counts a configuration reload from source: "file" (the mounted file) or "api" (the config
// Secret, read through the Kubernetes API).
func (m *Metrics) ConfigReload(source string, ok bool) {
	if m == nil {
		return
	}
	result := "success"
	if !ok {
		result = "error"
	}
	m.reloads.WithLabelValues(source, result).Inc()
}

// SessionRevoked counts an open session ended because a configuration change restricted its user; reason is
// one of auth.Reason's values.
func (m *Metrics) SessionRevoked(protocol, reason string) {
	if m != nil {
		m.revoked.WithLabelValues(protocol, reason).Inc()
	}
}
