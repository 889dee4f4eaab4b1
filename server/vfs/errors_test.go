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

package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestErrorsNameNoDiskPath: whatever os error an operation returns, the client sees its own path and the inner
// error, never the path on the server's disk, also when os errors are nested or wrapped.
func TestErrorsNameNoDiskPath(t *testing.T) {
	const disk = "/srv/pier/storage/alice"
	for name, err := range map[string]error{
		"path error":         &fs.PathError{Op: "open", Path: disk + "/a", Err: syscall.ENOENT},
		"link error":         &os.LinkError{Op: "rename", Old: disk + "/a", New: disk + "/b", Err: syscall.ENOENT},
		"path in a link":     &os.LinkError{Op: "rename", Old: disk + "/a", New: disk + "/b", Err: &fs.PathError{Op: "lstat", Path: disk + "/b", Err: syscall.ENOENT}},
		"link in a path":     &fs.PathError{Op: "open", Path: disk + "/a", Err: &os.LinkError{Op: "link", Old: disk + "/a", New: disk + "/b", Err: syscall.ENOENT}},
		"wrapped path error": fmt.Errorf("opening: %w", &fs.PathError{Op: "open", Path: disk + "/a", Err: syscall.ENOENT}),
		"no os error at all": syscall.ENOENT,
	} {
		for _, got := range []error{pathError("open", "a", err), &os.LinkError{Op: "rename", Old: "/a", New: "/b", Err: withoutDiskPaths(err)}} {
			if strings.Contains(got.Error(), disk) {
				t.Errorf("%s: %q names the disk path", name, got)
			}
			if !errors.Is(got, syscall.ENOENT) {
				t.Errorf("%s: %q is no longer ENOENT", name, got)
			}
		}
	}
}
