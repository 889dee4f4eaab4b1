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

// Package helmchart gives tests the Helm chart to install into a given API server. The control planes of a
// machine without internet access are built from Kubernetes' module source (hack/setup-envtest.sh); those built
// before the script set Kubernetes' version flags report v0.0.0-master, which the chart's kubeVersion refuses. For
// those alone, tests install a copy of the chart without kubeVersion; test/chart checks kubeVersion itself with
// helm template --kube-version.
package helmchart

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"k8s.io/client-go/discovery"
)

// unversioned is the version Kubernetes reports when built without its version flags.
const unversioned = "v0.0.0-master"

// kubeVersionLine is Chart.yaml's kubeVersion.
var kubeVersionLine = regexp.MustCompile(`(?m)^kubeVersion: .*\n`)

// ForServer returns chartDir, or, when the API server reports no real version, a copy of it under tmp without
// Chart.yaml's kubeVersion.
func ForServer(dc discovery.ServerVersionInterface, chartDir, tmp string) (string, error) {
	info, err := dc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("asking the API server its version: %w", err)
	}
	// Any other version, too old or not, is helm's to judge.
	if !strings.HasPrefix(info.GitVersion, unversioned) {
		return chartDir, nil
	}
	dst := filepath.Join(tmp, filepath.Base(chartDir))
	if err := os.CopyFS(dst, os.DirFS(chartDir)); err != nil {
		return "", fmt.Errorf("copying the chart: %w", err)
	}
	file := filepath.Join(dst, "Chart.yaml")
	content, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	if !kubeVersionLine.Match(content) {
		return "", fmt.Errorf("%s has no kubeVersion line", file)
	}
	return dst, os.WriteFile(file, kubeVersionLine.ReplaceAll(content, nil), fs.FileMode(0o644))
}
