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

package serverconfig

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// A configuration may be stored gzipped. The operator does that when the file would not fit in its Secret
// (Kubernetes limits a Secret to 1 MiB, about 3,000 users with a key each; gzipped, about 10,000), under the
// Secret key config.yaml.gz, which the kubelet mounts as a file of that name.
const (
	// GzipSuffix ends the name of a gzipped configuration file or Secret key.
	GzipSuffix = ".gz"
	// MaxInflatedBytes bounds what a gzipped configuration may expand to, so a small file cannot make the server
	// allocate gigabytes.
	MaxInflatedBytes = 64 << 20
)

var gzipMagic = []byte{0x1f, 0x8b}

// inflate returns data itself, or its gzip content when data is gzipped: no YAML document starts with the gzip
// magic bytes, so the content says which it is.
func inflate(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, gzipMagic) {
		return data, nil
	}
	r, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not valid gzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(r, MaxInflatedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("not valid gzip: %w", err)
	}
	if len(out) > MaxInflatedBytes {
		return nil, fmt.Errorf("gzipped configuration expands to more than %d bytes", MaxInflatedBytes)
	}
	return out, nil
}

// Gzip compresses a configuration file for a Secret that the plain file would not fit in.
func Gzip(data []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	_, _ = w.Write(data)                                    // writes to a bytes.Buffer cannot fail
	_ = w.Close()
	return buf.Bytes()
}

// ReadFile reads the configuration file at path, or, when there is none, the gzipped one at path+".gz" (the
// operator's Secret holds one or the other). Parse takes either content.
func ReadFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if gz, gzErr := os.ReadFile(path + GzipSuffix); gzErr == nil {
			return gz, nil
		}
	}
	return data, err
}
