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
	"syscall"
)

// Statvfs describes the filesystem holding the home directory. It needs no permission: it reveals nothing
// about the files.
//
// It calls fstatfs on a descriptor of the home directory rather than statfs on its path, so that it reports the
// same directory the jail uses even if the path has been replaced since Open.
func (f *FS) Statvfs() (FilesystemStats, error) {
	dir, err := f.root.Open(".")
	if err != nil {
		return FilesystemStats{}, pathError("statvfs", ".", err)
	}
	defer func() { _ = dir.Close() }() // opened read-only, nothing to flush

	conn, err := dir.SyscallConn()
	if err != nil {
		return FilesystemStats{}, pathError("statvfs", ".", err)
	}
	var st syscall.Statfs_t
	var statErr error
	if err := conn.Control(func(fd uintptr) { statErr = syscall.Fstatfs(int(fd), &st) }); err != nil {
		return FilesystemStats{}, pathError("statvfs", ".", err)
	}
	if statErr != nil {
		return FilesystemStats{}, pathError("statvfs", ".", statErr)
	}
	// Since Linux 2.6 the block counts are in fragment-size units; Bsize is only the preferred I/O size.
	blockSize := uint64(st.Frsize)
	if blockSize == 0 {
		blockSize = uint64(st.Bsize)
	}
	return FilesystemStats{
		BlockSize:       blockSize,
		Blocks:          st.Blocks,
		BlocksFree:      st.Bfree,
		BlocksAvailable: st.Bavail,
		Files:           st.Files,
		FilesFree:       st.Ffree,
		NameMax:         uint64(st.Namelen),
	}, nil
}
