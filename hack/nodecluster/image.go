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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/pier-dev/pier/hack/images/oci"
)

// ctr runs containerd's client against the node's containerd, in the Kubernetes namespace.
func (l layout) ctr(ctx context.Context, args ...string) (string, error) {
	return run(ctx, "ctr", append([]string{"--address", l.containerdSocket(), "--namespace", criNamespace}, args...)...)
}

// hasImage reports whether the node's containerd holds the image ref.
func (l layout) hasImage(ctx context.Context, ref string) (bool, error) {
	out, err := l.ctr(ctx, "images", "list", "--quiet")
	if err != nil {
		return false, err
	}
	for line := range strings.Lines(out) {
		if strings.TrimSpace(line) == ref {
			return true, nil
		}
	}
	return false, nil
}

// importArchive imports an image archive (OCI or docker) with every platform it holds: without
// --all-platforms, ctr keeps only the platform's manifest, and the kubelet then finds an image whose other
// blobs are missing and cannot be pulled.
func (l layout) importArchive(ctx context.Context, archive string) (string, error) {
	return l.ctr(ctx, "images", "import", "--all-platforms", archive)
}

// ensurePauseImage builds the sandbox image from hack/nodecluster/pause and imports it, unless containerd has it.
func (l layout) ensurePauseImage(ctx context.Context, repoRoot string) error {
	if ok, err := l.hasImage(ctx, pauseImage); err != nil || ok {
		return err
	}
	work, err := os.MkdirTemp("", "pier-node-pause-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	bin := filepath.Join(work, "pause")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./hack/nodecluster/pause")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the pause program: %w\n%s", err, out)
	}
	archive := filepath.Join(work, "pause.tar")
	if err := writePauseArchive(bin, archive); err != nil {
		return err
	}
	_, err = l.importArchive(ctx, archive)
	return err
}

// writePauseArchive writes a one-layer image holding the pause binary as /pause, its entrypoint, as an OCI archive
// named pauseImage.
func writePauseArchive(bin, archive string) error {
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	created := time.Unix(0, 0).UTC()
	layer, err := oci.Layer(created, []oci.Entry{{Path: "pause", Mode: 0o755, Data: data}})
	if err != nil {
		return err
	}
	img, err := oci.Image(&v1.ConfigFile{
		OS:           "linux",
		Architecture: runtime.GOARCH,
		Created:      v1.Time{Time: created},
		Config:       v1.Config{Entrypoint: []string{"/pause"}, User: "65535:65535"},
		RootFS:       v1.RootFS{Type: "layers"},
	}, mutate.Addendum{Layer: layer})
	if err != nil {
		return err
	}
	idx, err := oci.Index(img)
	if err != nil {
		return err
	}
	return oci.WriteArchive(archive, idx, pauseImage, created)
}
