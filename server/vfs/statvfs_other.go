//go:build !linux

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
)

// Statvfs is only implemented on Linux, where pier-server runs; the rest of the package works elsewhere so
// that it can be developed and tested there.
func (f *FS) Statvfs() (FilesystemStats, error) {
	return FilesystemStats{}, pathError("statvfs", ".", errors.ErrUnsupported)
}
