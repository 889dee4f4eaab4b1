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

package controlplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// CRDs of other projects that tests install, from those projects' Go modules: they ship them as plain YAML, so
// the Go module proxy is all a machine needs to get them. Neither module is a dependency of pier.
const (
	// CertManagerVersion is the cert-manager release whose CRDs StartWith installs (under deploy/crds).
	CertManagerVersion = "v1.21.2"
	// PrometheusOperatorVersion is the prometheus-operator release whose ServiceMonitor CRD the chart's and the
	// install manifests' tests install.
	PrometheusOperatorVersion = "v0.85.0"
)

// CertManagerCRDDir downloads the cert-manager module through the Go module proxy (once; it is cached in the module
// cache) and returns the folder holding its CRDs.
func CertManagerCRDDir() (string, error) {
	dir, err := moduleDir("github.com/cert-manager/cert-manager", CertManagerVersion)
	if err != nil {
		return "", fmt.Errorf("downloading cert-manager %s for its CRDs: %w", CertManagerVersion, err)
	}
	return filepath.Join(dir, "deploy", "crds"), nil
}

// ServiceMonitorCRDFile downloads the prometheus-operator module through the Go module proxy (once; it is cached
// in the module cache) and returns the file of its ServiceMonitor CRD.
func ServiceMonitorCRDFile() (string, error) {
	dir, err := moduleDir("github.com/prometheus-operator/prometheus-operator", PrometheusOperatorVersion)
	if err != nil {
		return "", fmt.Errorf("downloading prometheus-operator %s for its ServiceMonitor CRD: %w", PrometheusOperatorVersion, err)
	}
	return filepath.Join(dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_servicemonitors.yaml"), nil
}

// MonitoringCRDFiles are the files of the prometheus-operator CRDs pier's install can create objects of:
// ServiceMonitor (the manager), PodMonitor (the endpoint pods) and PrometheusRule (the alerts).
func MonitoringCRDFiles() ([]string, error) {
	serviceMonitor, err := ServiceMonitorCRDFile()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(serviceMonitor)
	return []string{serviceMonitor, filepath.Join(dir, "monitoring.coreos.com_podmonitors.yaml"),
		filepath.Join(dir, "monitoring.coreos.com_prometheusrules.yaml")}, nil
}

// moduleDir downloads module at version into the module cache, unless it is there, and returns its folder.
func moduleDir(module, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	// Outside pier's module, so that the download cannot touch go.mod or go.sum.
	cmd.Dir = os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			err = fmt.Errorf("%w: %s", err, exitErr.Stderr)
		}
		return "", err
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("reading `go mod download -json` output: %q", out)
	}
	return mod.Dir, nil
}
