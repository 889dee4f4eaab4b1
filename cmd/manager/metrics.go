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
	"crypto/tls"
	"fmt"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// metricsFlags are the command-line settings of the metrics endpoint.
type metricsFlags struct {
	bindAddress string
	secure      bool
	enableHTTP2 bool
	// certPath is the folder of the serving certificate (certName, keyName), usually a mounted cert-manager
	// Secret; empty means a self-signed certificate made at start.
	certPath, certName, keyName string
}

// metricsOptions are the metrics server's options for f, and the watcher of its certificate when f names one,
// which the caller must run (it reloads the certificate when cert-manager renews the mounted Secret).
//
// A --metrics-cert-path whose files are missing or unreadable is an error, not a fall-back to a self-signed
// certificate as controller-runtime would do: whoever set it has a scraper that verifies the certificate, and a
// manager that starts anyway would only move the failure to every scrape, where it is harder to see.
func metricsOptions(f metricsFlags) (metricsserver.Options, *certwatcher.CertWatcher, error) {
	var tlsOpts []func(*tls.Config)
	if !f.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	opts := metricsserver.Options{BindAddress: f.bindAddress, SecureServing: f.secure}
	if f.secure {
		opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	var watcher *certwatcher.CertWatcher
	if f.certPath != "" {
		if !f.secure {
			return metricsserver.Options{}, nil, fmt.Errorf("--metrics-cert-path needs --metrics-secure: plain HTTP uses no certificate")
		}
		var err error
		watcher, err = certwatcher.New(filepath.Join(f.certPath, f.certName), filepath.Join(f.certPath, f.keyName))
		if err != nil {
			return metricsserver.Options{}, nil, fmt.Errorf("loading the metrics certificate from %s: %w", f.certPath, err)
		}
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.GetCertificate = watcher.GetCertificate })
	}
	opts.TLSOpts = tlsOpts
	return opts, watcher, nil
}
