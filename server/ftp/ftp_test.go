/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package ftp

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/jlaffaye/ftp"
)

func retrieve(t *testing.T, c *ftp.ServerConn, name string, offset uint64) []byte {
	t.Helper()
	resp, err := c.RetrFrom(name, offset)
	if err != nil {
		t.Fatalf("RETR %s from %d: %v", name, offset, err)
	}
	data, err := io.ReadAll(resp)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	if err := resp.Close(); err != nil {
		t.Fatalf("closing the download of %s: %v", name, err)
	}
	return data
}

// TestRoundTrips uploads and downloads files of several sizes over explicit FTPS with session reuse required,
// and checks both the download and the file on disk byte for byte.
func TestRoundTrips(t *testing.T) {
	ts := startServer(t)
	c := ts.login(t, "alice")
	for _, size := range []int{0, 1, 1 << 20, 3<<20 + 7} {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) {
			data := randomBytes(t, size)
			name := fmt.Sprintf("file-%d.bin", size)
			if err := c.Stor(name, bytes.NewReader(data)); err != nil {
				t.Fatalf("STOR: %v", err)
			}
			onDisk, err := os.ReadFile(filepath.Join(ts.home("alice"), name))
			if err != nil || !bytes.Equal(onDisk, data) {
				t.Fatalf("the file on disk differs from the upload (err %v, %d bytes)", err, len(onDisk))
			}
			if got := retrieve(t, c, name, 0); !bytes.Equal(got, data) {
				t.Fatalf("download differs: %d bytes, want %d", len(got), len(data))
			}
			size2, err := c.FileSize(name)
			if err != nil || size2 != int64(size) {
				t.Fatalf("SIZE = %d, %v; want %d", size2, err, size)
			}
		})
	}
}
