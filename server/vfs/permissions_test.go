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

package vfs

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// permissionCases are, for each permission, operations that need it. Each succeeds in a fresh layout with a link
// "inside" pointing to file.txt.
var permissionCases = []struct {
	name string
	need Permission
	op   func(*FS) error
}{
	{"stat", List, func(f *FS) error { _, err := f.Stat("file.txt"); return err }},
	{"lstat", List, func(f *FS) error { _, err := f.Lstat("inside"); return err }},
	{"readlink", List, func(f *FS) error { _, err := f.Readlink("inside"); return err }},
	{"opendir", List, func(f *FS) error {
		d, err := f.OpenDir("/")
		if err != nil {
			return err
		}
		if _, err := d.Next(10); err != nil {
			return err
		}
		return d.Close()
	}},
	{"read", Download, func(f *FS) error {
		file, err := f.OpenRead("file.txt")
		if err != nil {
			return err
		}
		if _, err := io.ReadAll(file); err != nil {
			return err
		}
		return file.Close()
	}},
	{"create", Upload, func(f *FS) error { return closeIfOpen(f.OpenWrite("new.txt", WriteFlags{Create: true})) }},
	{"overwrite", Upload, func(f *FS) error {
		return closeIfOpen(f.OpenWrite("file.txt", WriteFlags{Create: true, Truncate: true}))
	}},
	{"resume", Upload, func(f *FS) error { return closeIfOpen(f.OpenWrite("file.txt", WriteFlags{})) }},
	{"append", Upload, func(f *FS) error { return closeIfOpen(f.OpenWrite("file.txt", WriteFlags{Append: true})) }},
	{"chtimes", Upload, func(f *FS) error { return f.Chtimes("file.txt", time.Unix(1, 0), time.Unix(2, 0)) }},
	{"chmod", Upload, func(f *FS) error { return f.Chmod("file.txt", 0o600) }},
	{"remove", Delete, func(f *FS) error { return f.Remove("file.txt") }},
	{"remove link", Delete, func(f *FS) error { return f.Remove("inside") }},
	{"rmdir", Delete, func(f *FS) error { return f.Rmdir("empty") }},
	{"rename", Rename, func(f *FS) error { return f.Rename("file.txt", "renamed.txt") }},
	{"mkdir", Mkdir, func(f *FS) error { return f.Mkdir("newdir") }},
}

func TestPermissions(t *testing.T) {
	for _, tt := range permissionCases {
		t.Run(tt.name+" without "+string(tt.need), func(t *testing.T) {
			var others []string
			for _, p := range allPermissions {
				if p != tt.need {
					others = append(others, string(p))
				}
			}
			l := newLayout(t)
			l.link(t, "inside", "file.txt")
			fsys := l.openFS(t, others...)
			before := snapshotTree(t, l.home, "")
			err := tt.op(fsys)
			if !errors.Is(err, ErrPermissionDenied) || !errors.Is(err, fs.ErrPermission) {
				t.Fatalf("got %v, want an error wrapping ErrPermissionDenied and fs.ErrPermission", err)
			}
			if !strings.Contains(err.Error(), string(tt.need)) {
				t.Errorf("error %q does not name the missing permission %q", err, tt.need)
			}
			if after := snapshotTree(t, l.home, ""); !maps.EqualFunc(before, after, entry.equal) {
				t.Errorf("the denied operation changed the home")
			}
		})
		t.Run(tt.name+" with only "+string(tt.need), func(t *testing.T) {
			l := newLayout(t)
			l.link(t, "inside", "file.txt")
			fsys := l.openFS(t, string(tt.need))
			if err := tt.op(fsys); err != nil {
				t.Fatalf("got %v, want success", err)
			}
		})
	}
}

func TestRenameWithoutPermissionNamesBothPaths(t *testing.T) {
	fsys := newLayout(t).openFS(t, "list")
	err := fsys.Rename("/a", "/b")
	if !errors.Is(err, ErrPermissionDenied) || !strings.Contains(err.Error(), "/a") || !strings.Contains(err.Error(), "/b") {
		t.Errorf("got %v, want a permission error naming /a and /b", err)
	}
}

func TestParsePermissions(t *testing.T) {
	tests := []struct {
		names []string
		want  []Permission
	}{
		{[]string{"ReadWrite"}, allPermissions},
		{[]string{"ReadOnly"}, []Permission{List, Download}},
		{[]string{"UploadOnly"}, []Permission{List, Upload, Mkdir}},
		{[]string{"list", "upload", "list"}, []Permission{List, Upload}},
		{[]string{"delete"}, []Permission{Delete}},
		{[]string{"rename", "mkdir", "download"}, []Permission{Download, Rename, Mkdir}},
		{nil, nil},
	}
	for _, tt := range tests {
		got, err := ParsePermissions(tt.names)
		if err != nil {
			t.Errorf("ParsePermissions(%q): %v", tt.names, err)
			continue
		}
		for _, p := range allPermissions {
			want := false
			for _, w := range tt.want {
				want = want || w == p
			}
			if got.Has(p) != want {
				t.Errorf("ParsePermissions(%q).Has(%s) = %v, want %v", tt.names, p, got.Has(p), want)
			}
		}
		for _, preset := range []Permission{ReadWrite, ReadOnly, UploadOnly} {
			if got.Has(preset) {
				t.Errorf("ParsePermissions(%q).Has(%s) = true; presets are never reported", tt.names, preset)
			}
		}
	}
}

func TestParsePermissionsRejectsUnknownNames(t *testing.T) {
	for _, names := range [][]string{{"list", "bogus", "Admin"}, {"readwrite"}, {"LIST"}, {""}, {"list "}} {
		p, err := ParsePermissions(names)
		if err == nil {
			t.Errorf("ParsePermissions(%q) = %v, want an error", names, p)
			continue
		}
		for _, name := range names {
			if name != "list" && !strings.Contains(err.Error(), `"`+name+`"`) {
				t.Errorf("ParsePermissions(%q) error %q does not name %q", names, err, name)
			}
		}
		if p.Has(List) {
			t.Errorf("ParsePermissions(%q) failed but granted list", names)
		}
	}
}

func TestPermissionsZeroValueAndString(t *testing.T) {
	var none Permissions
	for _, p := range allPermissions {
		if none.Has(p) {
			t.Errorf("zero Permissions has %s", p)
		}
	}
	if got := mustParse(t, "mkdir", "list").String(); got != "list,mkdir" {
		t.Errorf("String() = %q", got)
	}
}

// TestRenameOverAFileNeedsDelete: replacing a file destroys it, so Rename alone may move files to free names only.
func TestRenameOverAFileNeedsDelete(t *testing.T) {
	l := newLayout(t)
	mustWrite(t, filepath.Join(l.home, "a.txt"), "a")
	mustWrite(t, filepath.Join(l.home, "b.txt"), "b")
	renameOnly := l.openFS(t, "list", "rename")
	if err := renameOnly.Rename("/a.txt", "/b.txt"); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("rename over a file without Delete: %v, want permission denied", err)
	}
	if mustRead(t, filepath.Join(l.home, "a.txt")) != "a" || mustRead(t, filepath.Join(l.home, "b.txt")) != "b" {
		t.Fatal("a refused rename changed a file")
	}
	if err := renameOnly.Rename("/a.txt", "/c.txt"); err != nil {
		t.Fatalf("rename to a free name with Rename alone: %v", err)
	}
	withDelete := l.openFS(t, "list", "rename", "delete")
	if err := withDelete.Rename("/c.txt", "/b.txt"); err != nil {
		t.Fatalf("rename over a file with Rename and Delete: %v", err)
	}
	if mustRead(t, filepath.Join(l.home, "b.txt")) != "a" {
		t.Fatal("rename over a file did not replace it")
	}
}
