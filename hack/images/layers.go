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
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// caBundlePath is where distroless (and Debian) keep the CA bundle, and where Go looks first.
const caBundlePath = "/etc/ssl/certs/ca-certificates.crt"

// The users and groups of distroless/static: root, nobody and nonroot (65532), all without a shell.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\n" +
		"nobody:x:65534:\n" +
		"nonroot:x:65532:\n"
)

// entry is one file or folder of a layer. Folders end in "/".
type entry struct {
	path     string // without a leading "/"
	mode     int64  // permission bits, with the sticky bit for /tmp
	uid, gid int
	data     []byte
}

// baseLayer is what distroless/static:nonroot gives a static Go binary, which cannot be pulled here: the users
// (so that tools and the Go runtime can name uid 65532), the home folders, a world-writable /tmp with the sticky
// bit, and the CA bundle for outgoing TLS. No tzdata: pier logs UTC and parses no time zones.
func baseLayer(created time.Time, caBundle string) (v1.Layer, error) {
	entries := []entry{
		{path: "etc/", mode: 0o755},
		{path: "etc/group", mode: 0o644, data: []byte(group)},
		{path: "etc/passwd", mode: 0o644, data: []byte(passwd)},
	}
	if caBundle != "" {
		data, err := os.ReadFile(caBundle)
		if err != nil {
			return nil, err
		}
		entries = append(entries,
			entry{path: "etc/ssl/", mode: 0o755},
			entry{path: "etc/ssl/certs/", mode: 0o755},
			entry{path: strings.TrimPrefix(caBundlePath, "/"), mode: 0o644, data: data},
		)
	}
	entries = append(entries,
		entry{path: "home/", mode: 0o755},
		entry{path: "home/nonroot/", mode: 0o700, uid: 65532, gid: 65532},
		entry{path: "root/", mode: 0o700},
		entry{path: "tmp/", mode: 0o1777},
	)
	return layer(created, entries)
}

// binaryLayer holds the binary at path (absolute), owned by root and executable by everyone, so the non-root user
// can run it but not change it.
func binaryLayer(created time.Time, path, file string) (v1.Layer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return layer(created, []entry{{path: strings.TrimPrefix(path, "/"), mode: 0o755, data: data}})
}

// layer makes a gzipped OCI layer of entries. Every header field is fixed (times, owners, no user names), and
// Go's gzip writes no time or name, so the same entries always give the same digest.
func layer(created time.Time, entries []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.path,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: created,
			Format:  tar.FormatPAX,
		}
		if strings.HasSuffix(e.path, "/") {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer),
		tarball.WithCompressionLevel(gzip.DefaultCompression),
		// The digest and the archive both need the gzipped bytes: compress once.
		tarball.WithCompressedCaching,
	)
}
