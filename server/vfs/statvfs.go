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

// FilesystemStats describes the filesystem holding the home directory, for SFTP's statvfs@openssh.com (what
// "df" shows in a client). Block counts are in units of BlockSize.
type FilesystemStats struct {
	BlockSize       uint64
	Blocks          uint64
	BlocksFree      uint64
	BlocksAvailable uint64 // free blocks an unprivileged process may use
	Files           uint64
	FilesFree       uint64
	NameMax         uint64 // longest file name, in bytes
}
