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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/version"
)

// kubectl is the kubectl the demo's commands use, and where it comes from, to say so.
type kubectl struct {
	path   string
	origin string
}

// versionTimeout bounds `kubectl version --client` and `kube-apiserver --version`, which only print.
const versionTimeout = 20 * time.Second

// chooseKubectl picks the kubectl for the demo's commands: the one given, else the one on PATH when it supports the
// control plane (within one minor version of it, Kubernetes' skew policy for kubectl), else one of the control
// plane's version from KUBEBUILDER_ASSETS, built by setupEnvtest (hack/setup-envtest.sh) if it is not there yet.
func chooseKubectl(ctx context.Context, log *slog.Logger, given, setupEnvtest string) (kubectl, error) {
	if given != "" {
		return kubectl{path: given, origin: "the kubectl given with -kubectl"}, nil
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return kubectl{}, errors.New("KUBEBUILDER_ASSETS is not set: run `make demo`, which sets it")
	}
	server, err := controlPlaneVersion(ctx, filepath.Join(assets, "kube-apiserver"))
	if err != nil {
		return kubectl{}, err
	}
	if path, err := exec.LookPath("kubectl"); err == nil {
		client, err := kubectlVersion(ctx, path)
		switch {
		case err != nil:
			log.Info("not using the kubectl on PATH", "path", path, "error", err)
		case supports(client, server):
			return kubectl{path: path, origin: fmt.Sprintf("the kubectl on your PATH, v%s", client)}, nil
		default:
			log.Info("not using the kubectl on PATH: kubectl works with control planes up to one minor version "+
				"from its own", "path", path, "version", "v"+client.String(), "controlPlane", "v"+server.String())
		}
	}
	built := filepath.Join(assets, "kubectl")
	if _, err := os.Stat(built); err != nil {
		log.Info("building kubectl v" + server.String() + " for the demo from the Go module proxy (a few minutes, " +
			"once: it is cached beside the control plane's binaries)")
		dir, err := buildKubectl(ctx, setupEnvtest)
		if err != nil {
			return kubectl{}, err
		}
		built = filepath.Join(dir, "kubectl")
	}
	return kubectl{path: built, origin: fmt.Sprintf("kubectl v%s, built for the demo", server)}, nil
}

// supports reports whether kubectl of version client works with a control plane of version server.
func supports(client, server *version.Version) bool {
	if client.Major() != server.Major() {
		return false
	}
	diff := int(client.Minor()) - int(server.Minor())
	return diff >= -1 && diff <= 1
}

// controlPlaneVersion is the Kubernetes version of the kube-apiserver binary: what it says (a downloaded
// "Kubernetes v1.37.2"), or, for one built from the module source without version stamps, which says v0.0.0, the
// version hack/setup-envtest.sh built it from, ENVTEST_K8S_VERSION (the Makefile sets it).
func controlPlaneVersion(ctx context.Context, binary string) (*version.Version, error) {
	out, err := output(ctx, binary, "--version")
	if err != nil {
		return nil, fmt.Errorf("the control plane's version: %w", err)
	}
	if fields := strings.Fields(string(out)); len(fields) > 0 {
		if v, err := version.ParseGeneric(fields[len(fields)-1]); err == nil && v.Major() > 0 {
			return v, nil
		}
	}
	if env := os.Getenv("ENVTEST_K8S_VERSION"); env != "" {
		v, err := version.ParseGeneric(env)
		if err != nil {
			return nil, fmt.Errorf("ENVTEST_K8S_VERSION=%q: %w", env, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("the control plane's version: %s --version says %q and ENVTEST_K8S_VERSION is not set "+
		"(make demo sets it); give the demo a kubectl with -kubectl", binary, strings.TrimSpace(string(out)))
}

// kubectlVersion asks kubectl for its own version, without contacting any cluster.
func kubectlVersion(ctx context.Context, path string) (*version.Version, error) {
	out, err := output(ctx, path, "version", "--client", "-o", "json")
	if err != nil {
		return nil, err
	}
	var v struct {
		ClientVersion struct {
			GitVersion string `json:"gitVersion"`
		} `json:"clientVersion"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("reading `kubectl version --client -o json`: %w", err)
	}
	parsed, err := version.ParseGeneric(v.ClientVersion.GitVersion)
	if err != nil {
		return nil, fmt.Errorf("kubectl's version %q: %w", v.ClientVersion.GitVersion, err)
	}
	return parsed, nil
}

// output runs a command that only prints something, and returns what it printed to stdout.
func output(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// buildKubectl runs hack/setup-envtest.sh --with-kubectl, which builds kubectl into its cache (or finds it there)
// and prints the folder. Its progress goes to the demo's stderr.
func buildKubectl(ctx context.Context, script string) (string, error) {
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, script, "--with-controller-manager", "--with-kubectl")
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	// The script and its go build run as one process group, stopped together when the demo stops.
	inOwnGroup(cmd)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building kubectl with %s --with-kubectl: %w", script, err)
	}
	dir := strings.TrimSpace(stdout.String())
	if _, err := os.Stat(filepath.Join(dir, "kubectl")); err != nil {
		return "", fmt.Errorf("%s --with-kubectl printed %q, which holds no kubectl: %w", script, dir, err)
	}
	return dir, nil
}
