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
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/pier-dev/pier/hack/images/oci"
)

// TestPauseArchive reads the sandbox image's archive as containerd's import does: named pauseImage (the name the
// containerd config gives as sandbox_image), for this machine's platform, running /pause as the nobody user.
func TestPauseArchive(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "pause")
	if err := os.WriteFile(bin, []byte("stands in for the pause program"), 0o755); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "pause.tar")
	if err := writePauseArchive(bin, archive); err != nil {
		t.Fatal(err)
	}
	read, err := oci.ReadArchive(archive, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got := read.Descriptor.Annotations[oci.AnnotationImageName]; got != pauseImage {
		t.Fatalf("the archive names the image %q, want %s", got, pauseImage)
	}
	idx := read.Index
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Platform == nil ||
		im.Manifests[0].Platform.OS != "linux" || im.Manifests[0].Platform.Architecture != runtime.GOARCH {
		t.Fatalf("the index holds %+v, want one image for linux/%s", im.Manifests, runtime.GOARCH)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/pause"}) || cfg.Config.User != "65535:65535" {
		t.Errorf("config runs %v as %q, want /pause as 65535:65535", cfg.Config.Entrypoint, cfg.Config.User)
	}
}
