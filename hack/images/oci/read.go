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
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Archive is what ReadArchive found in an OCI archive.
type Archive struct {
	// Descriptor is index.json's one entry, whose annotations name the image.
	Descriptor v1.Descriptor
	// Index is the image index it describes.
	Index v1.ImageIndex
}

// ReadArchive is WriteArchive's inverse, for checks: it unpacks the archive at path into dir, refusing anything but
// plain files and folders inside dir, and reads it as an OCI image layout whose index.json describes one image
// index, as WriteArchive writes it.
func ReadArchive(path, dir string) (Archive, error) {
	if err := untar(path, dir); err != nil {
		return Archive{}, fmt.Errorf("unpacking %s: %w", path, err)
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		return Archive{}, err
	}
	top, err := lp.ImageIndex()
	if err != nil {
		return Archive{}, err
	}
	manifest, err := top.IndexManifest()
	if err != nil {
		return Archive{}, err
	}
	if len(manifest.Manifests) != 1 || manifest.Manifests[0].MediaType != types.OCIImageIndex {
		return Archive{}, fmt.Errorf("%s: index.json describes %+v, want one image index", path, manifest.Manifests)
	}
	desc := manifest.Manifests[0]
	idx, err := top.ImageIndex(desc.Digest)
	if err != nil {
		return Archive{}, err
	}
	return Archive{Descriptor: desc, Index: idx}, nil
}

func untar(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !filepath.IsLocal(hdr.Name) {
			return fmt.Errorf("entry %q leaves the archive", hdr.Name)
		}
		target := filepath.Join(dir, hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			var data []byte
			if data, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(target, data, 0o644)
			}
		default:
			err = fmt.Errorf("entry %q has type %c", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return err
		}
	}
}
