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
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pier-dev/pier/hack/images/oci"
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

// baseLayer is what distroless/static:nonroot gives a static Go binary, which cannot be pulled here: the users
// (so that tools and the Go runtime can name uid 65532), the home folders, a world-writable /tmp with the sticky
// bit, and the CA bundle for outgoing TLS. No tzdata: pier logs UTC and parses no time zones.
func baseLayer(created time.Time, caBundle string) (v1.Layer, error) {
	entries := []oci.Entry{
		{Path: "etc/", Mode: 0o755},
		{Path: "etc/group", Mode: 0o644, Data: []byte(group)},
		{Path: "etc/passwd", Mode: 0o644, Data: []byte(passwd)},
	}
	if caBundle != "" {
		data, err := os.ReadFile(caBundle)
		if err != nil {
			return nil, err
		}
		entries = append(entries,
			oci.Entry{Path: "etc/ssl/", Mode: 0o755},
			oci.Entry{Path: "etc/ssl/certs/", Mode: 0o755},
			oci.Entry{Path: strings.TrimPrefix(caBundlePath, "/"), Mode: 0o644, Data: data},
		)
	}
	entries = append(entries,
		oci.Entry{Path: "home/", Mode: 0o755},
		oci.Entry{Path: "home/nonroot/", Mode: 0o700, UID: 65532, GID: 65532},
		oci.Entry{Path: "root/", Mode: 0o700},
		oci.Entry{Path: "tmp/", Mode: 0o1777},
	)
	return oci.Layer(created, entries)
}

// binaryLayer holds the binary at path (absolute), owned by root and executable by everyone, so the non-root user
// can run it but not change it.
func binaryLayer(created time.Time, path, file string) (v1.Layer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return oci.Layer(created, []oci.Entry{{Path: strings.TrimPrefix(path, "/"), Mode: 0o755, Data: data}})
}
