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
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations of index.json naming the image, as containerd itself writes them on export: ctr import (and so
// kind load image-archive) tags the image with the full name, other tools read the tag.
const (
	AnnotationImageName = "io.containerd.image.name"
	AnnotationRefName   = "org.opencontainers.image.ref.name"
)

// blob is one file under blobs/sha256/.
type blob struct {
	digest v1.Hash
	size   int64
	open   func() (io.ReadCloser, error)
}

// WriteArchive writes idx as a tarred OCI image layout (an "OCI archive"): oci-layout, index.json naming the image
// ref (the full name containerd gives it on import, e.g. docker.io/library/busybox:1) and its tag, and every blob
// once. It is the format that holds a multi-platform image index and that ctr images import, kind load
// image-archive, podman load, skopeo (oci-archive:) and recent docker load accept. mtime is every file's time in
// the archive. The file is written next to path and renamed, so an interrupted build leaves no half archive.
func WriteArchive(path string, idx v1.ImageIndex, ref string, mtime time.Time) error {
	indexJSON, err := topIndex(idx, ref)
	if err != nil {
		return err
	}
	blobs, err := indexBlobs(idx)
	if err != nil {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // no-op after the rename
	tw := tar.NewWriter(tmp)
	// Fixed owners, modes and times: the archive's bytes, not only the image digest, are reproducible.
	write := func(file string, size int64, r io.Reader) error {
		hdr := &tar.Header{Name: file, Mode: 0o644, Size: size, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if r == nil {
			hdr.Mode, hdr.Typeflag = 0o755, tar.TypeDir
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if r == nil {
			return nil
		}
		n, err := io.Copy(tw, r)
		if err == nil && n != size {
			err = fmt.Errorf("%s: wrote %d bytes, want %d", file, n, size)
		}
		return err
	}
	if err := write("oci-layout", int64(len(ociLayout)), bytes.NewReader([]byte(ociLayout))); err != nil {
		return err
	}
	if err := write("index.json", int64(len(indexJSON)), bytes.NewReader(indexJSON)); err != nil {
		return err
	}
	if err := write("blobs/", 0, nil); err != nil {
		return err
	}
	if err := write("blobs/sha256/", 0, nil); err != nil {
		return err
	}
	for _, b := range blobs {
		if err := writeBlob(write, b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// CreateTemp makes the file private; an image archive is not a secret.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// topIndex is the layout's index.json: one entry, the image index idx, named ref for containerd and by ref's tag
// for OCI tools.
func topIndex(idx v1.ImageIndex, ref string) ([]byte, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	size, err := idx.Size()
	if err != nil {
		return nil, err
	}
	return json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType:   types.OCIImageIndex,
			Digest:      digest,
			Size:        size,
			Annotations: map[string]string{AnnotationImageName: ref, AnnotationRefName: tag.TagStr()},
		}},
	})
}

const ociLayout = `{"imageLayoutVersion":"1.0.0"}`

func writeBlob(write func(string, int64, io.Reader) error, b blob) error {
	if b.digest.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: only sha256 digests are written", b.digest)
	}
	r, err := b.open()
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	return write("blobs/sha256/"+b.digest.Hex, b.size, r)
}

// indexBlobs lists the blobs of idx in a fixed order: the index, then per platform its manifest, config and layers.
// A blob shared by platforms (the base layer) is listed once.
func indexBlobs(idx v1.ImageIndex) ([]blob, error) {
	var blobs []blob
	seen := map[v1.Hash]bool{}
	add := func(digest v1.Hash, size int64, open func() (io.ReadCloser, error)) {
		if !seen[digest] {
			seen[digest] = true
			blobs = append(blobs, blob{digest: digest, size: size, open: open})
		}
	}
	addBytes := func(data []byte) {
		digest, size, _ := v1.SHA256(bytes.NewReader(data)) // reading from memory cannot fail
		add(digest, size, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	}

	raw, err := idx.RawManifest()
	if err != nil {
		return nil, err
	}
	addBytes(raw)
	manifest, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, desc := range manifest.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, err
		}
		raw, err := img.RawManifest()
		if err != nil {
			return nil, err
		}
		addBytes(raw)
		config, err := img.RawConfigFile()
		if err != nil {
			return nil, err
		}
		addBytes(config)
		layers, err := img.Layers()
		if err != nil {
			return nil, err
		}
		for _, l := range layers {
			digest, err := l.Digest()
			if err != nil {
				return nil, err
			}
			size, err := l.Size()
			if err != nil {
				return nil, err
			}
			add(digest, size, l.Compressed)
		}
	}
	return blobs, nil
}
