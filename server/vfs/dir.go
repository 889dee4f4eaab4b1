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
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Dir is an open directory whose entries are read in batches, so that listing a directory of 100,000 files
// never holds them all in memory at once.
type Dir struct {
	file *os.File
	name string // resolved name, for errors
}

// OpenDir opens the directory p for listing.
func (f *FS) OpenDir(p string) (*Dir, error) {
	name, err := f.check("opendir", List, p)
	if err != nil {
		return nil, err
	}
	// O_DIRECTORY makes opening anything else fail at once, instead of hanging on a named pipe.
	file, err := f.root.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return nil, pathError("opendir", name, err)
	}
	return &Dir{file: file, name: name}, nil
}

// Next returns up to n more entries, in directory order, and io.EOF (unwrapped) once there are none left.
// Entries describe symbolic links themselves, like Lstat. Entries removed while the listing runs may be
// skipped; entries added may or may not appear.
func (d *Dir) Next(n int) ([]fs.FileInfo, error) {
	if n <= 0 {
		// Readdir would read the whole directory for n <= 0, which is what Dir exists to avoid.
		return nil, pathError("readdir", d.name, fmt.Errorf("%w: batch size %d must be positive", fs.ErrInvalid, n))
	}
	entries, err := d.file.Readdir(n)
	return entries, handleError("readdir", d.name, err)
}

// Close closes the directory.
func (d *Dir) Close() error {
	return handleError("close", d.name, d.file.Close())
}
