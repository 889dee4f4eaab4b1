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

package oci

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestWriteArchiveOfOneImage writes the smallest archive hack/nodecluster writes (one platform, one file) and
// reads it back as an OCI image layout: index.json names the image for containerd and OCI tools, every blob is
// there with its digest, and the layer is the one the same entries make again. hack/images' tests read the files
// in the layers and cover multi-platform indexes.
func TestWriteArchiveOfOneImage(t *testing.T) {
	created := time.Unix(1767225600, 0).UTC()
	entries := []Entry{{Path: "bin/", Mode: 0o755}, {Path: "bin/hello", Mode: 0o755, Data: []byte("#!/bin/true\n")}}
	idx := oneImageIndex(t, created, entries)
	archive := filepath.Join(t.TempDir(), "hello.tar")
	const ref = "example.test/tools/hello:1.0"
	if err := WriteArchive(archive, idx, ref, created); err != nil {
		t.Fatal(err)
	}

	read, err := ReadArchive(archive, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	desc := read.Descriptor
	if desc.Digest != digest || desc.Annotations[AnnotationImageName] != ref || desc.Annotations[AnnotationRefName] != "1.0" {
		t.Fatalf("index.json: %+v, want the index %s named %s, tag 1.0", desc, digest, ref)
	}
	if err := validate.Index(read.Index); err != nil {
		t.Fatal(err)
	}
	// The same entries make the same layer (reproducible), and it is the one in the archive.
	again, err := Layer(created, entries)
	if err != nil {
		t.Fatal(err)
	}
	want, err := again.Digest()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := onlyImage(t, read.Index).Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want 1", len(layers), err)
	}
	if d, err := layers[0].Digest(); err != nil || d != want {
		t.Errorf("the archive's layer is %s (%v), want %s", d, err, want)
	}
	info, err := os.Stat(archive)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("archive mode %v, want 0644: an image archive is not a secret", info.Mode().Perm())
	}
}

// oneImageIndex is an index of one linux/arm64 image with one layer of entries.
func oneImageIndex(t *testing.T, created time.Time, entries []Entry) v1.ImageIndex {
	t.Helper()
	layer, err := Layer(created, entries)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Image(&v1.ConfigFile{OS: "linux", Architecture: "arm64", RootFS: v1.RootFS{Type: "layers"},
		Config: v1.Config{Entrypoint: []string{"/bin/hello"}}}, mutate.Addendum{Layer: layer})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := Index(img)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// onlyImage checks that idx describes one OCI image, for linux/arm64, and returns it.
func onlyImage(t *testing.T, idx v1.ImageIndex) v1.Image {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Platform == nil || im.Manifests[0].Platform.Architecture != "arm64" ||
		im.Manifests[0].MediaType != types.OCIManifestSchema1 {
		t.Fatalf("index manifests %+v, want one OCI image for linux/arm64", im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestWriteArchiveNeedsATag: without a tag, containerd would name the image :latest while OCI tools find no tag.
func TestWriteArchiveNeedsATag(t *testing.T) {
	idx, err := Index()
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "x.tar")
	if err := WriteArchive(archive, idx, "example.test/tools/hello", time.Unix(0, 0)); err == nil {
		t.Fatal("WriteArchive took a reference without a tag")
	}
	if _, err := os.Stat(archive); !os.IsNotExist(err) {
		t.Errorf("a refused archive was written (%v)", err)
	}
}

// TestReadArchiveRefusesEntriesOutsideItsFolder: an archive is unpacked into a folder, never beside it.
func TestReadArchiveRefusesEntriesOutsideItsFolder(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "evil.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "../escaped", Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(archive, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "unpacked")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadArchive(archive, dir); err == nil || !strings.Contains(err.Error(), "leaves the archive") {
		t.Fatalf("ReadArchive: %v, want the entry refused", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escaped")); !os.IsNotExist(err) {
		t.Errorf("the entry was written outside the folder (%v)", err)
	}
}
