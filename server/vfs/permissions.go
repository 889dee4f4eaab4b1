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
	"slices"
	"strings"
)

// Permission is one kind of operation a user may perform. The names match spec.permissions of TransferUser.
type Permission string

// The single permissions.
const (
	// List allows Stat, Lstat, OpenDir and Readlink.
	List Permission = "list"
	// Download allows OpenRead.
	Download Permission = "download"
	// Upload allows OpenWrite of new files, Chtimes and Chmod.
	Upload Permission = "upload"
	// Overwrite allows changing what an existing file holds: opening it for writing (replacing, truncating,
	// appending to or resuming it), setting its size, and replacing it by Rename. It is useful with Upload or
	// Rename only.
	Overwrite Permission = "overwrite"
	// Delete allows Remove and Rmdir.
	Delete Permission = "delete"
	// Rename allows Rename, which replaces an existing destination file.
	Rename Permission = "rename"
	// Mkdir allows Mkdir.
	Mkdir Permission = "mkdir"
)

// Presets name common sets of permissions. ParsePermissions expands them; Permissions.Has never reports them,
// because a Permissions holds only single permissions.
const (
	// ReadWrite is every single permission.
	ReadWrite Permission = "ReadWrite"
	// ReadOnly is List and Download.
	ReadOnly Permission = "ReadOnly"
	// UploadOnly is List, Upload and Mkdir: a drop box whose files the user can neither read back nor change once
	// uploaded.
	UploadOnly Permission = "UploadOnly"
)

var allPermissions = []Permission{List, Download, Upload, Overwrite, Delete, Rename, Mkdir}

var presets = map[Permission][]Permission{
	ReadWrite:  allPermissions,
	ReadOnly:   {List, Download},
	UploadOnly: {List, Upload, Mkdir},
}

// Permissions is the set of single permissions a user has. The zero value grants nothing.
type Permissions struct {
	granted map[Permission]bool
}

// ParsePermissions builds the set from names as they appear in a TransferUser, expanding presets. It rejects
// unknown names, all of them at once, rather than ignoring them: a typo must not silently take away (or
// grant) access.
func ParsePermissions(names []string) (Permissions, error) {
	granted := map[Permission]bool{}
	var unknown []string
	for _, name := range names {
		p := Permission(name)
		switch {
		case slices.Contains(allPermissions, p):
			granted[p] = true
		case presets[p] != nil:
			for _, single := range presets[p] {
				granted[single] = true
			}
		default:
			unknown = append(unknown, fmt.Sprintf("%q", name))
		}
	}
	if len(unknown) > 0 {
		return Permissions{}, fmt.Errorf("unknown permission %s: use list, download, upload, overwrite, delete, rename, mkdir, "+
			"or one of the presets ReadWrite, ReadOnly, UploadOnly", strings.Join(unknown, ", "))
	}
	return Permissions{granted: granted}, nil
}

// Has reports whether p is granted. It is false for the preset names.
func (p Permissions) Has(perm Permission) bool {
	return p.granted[perm]
}

// String lists the granted permissions in a fixed order, for logs.
func (p Permissions) String() string {
	var names []string
	for _, perm := range allPermissions {
		if p.Has(perm) {
			names = append(names, string(perm))
		}
	}
	return strings.Join(names, ",")
}
