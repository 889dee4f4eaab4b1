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
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// permissionCases are, for each permission, operations that need it (and also the permissions in also). Each
// succeeds in a fresh layout with a link "inside" pointing to file.txt.
var permissionCases = []struct {
	name string
	need Permission
	also []Permission
	op   func(*FS) error
}{
	{"stat", List, nil, func(f *FS) error { _, err := f.Stat("file.txt"); return err }},
	{"lstat", List, nil, func(f *FS) error { _, err := f.Lstat("inside"); return err }},
	{"readlink", List, nil, func(f *FS) error { _, err := f.Readlink("inside"); return err }},
	{"opendir", List, nil, func(f *FS) error {
		d, err := f.OpenDir("/")
		if err != nil {
			return err
		}
		if _, err := d.Next(10); err != nil {
			return err
		}
		return d.Close()
	}},
	{"read", Download, nil, func(f *FS) error {
		file, err := f.OpenRead("file.txt")
		if err != nil {
			return err
		}
		if _, err := io.ReadAll(file); err != nil {
			return err
		}
		return file.Close()
	}},
	{"create", Upload, nil, func(f *FS) error { return closeIfOpen(f.OpenWrite("new.txt", WriteFlags{Create: true})) }},
	{"create to append", Upload, nil, func(f *FS) error {
		return closeIfOpen(f.OpenWrite("new.txt", WriteFlags{Create: true, Append: true}))
	}},
	{"overwrite", Overwrite, []Permission{Upload}, func(f *FS) error {
		return closeIfOpen(f.OpenWrite("file.txt", WriteFlags{Create: true, Truncate: true}))
	}},
	{"overwrite", Upload, []Permission{Overwrite}, func(f *FS) error {
		return closeIfOpen(f.OpenWrite("file.txt", WriteFlags{Create: true, Truncate: true}))
	}},
	{"resume", Overwrite, []Permission{Upload}, func(f *FS) error { return closeIfOpen(f.OpenWrite("file.txt", WriteFlags{})) }},
	{"append", Overwrite, []Permission{Upload}, func(f *FS) error {
		return closeIfOpen(f.OpenWrite("file.txt", WriteFlags{Create: true, Append: true}))
	}},
	{"rename over a file", Overwrite, []Permission{Rename}, func(f *FS) error { return f.Rename("sub/inner.txt", "file.txt") }},
	{"chtimes", Upload, nil, func(f *FS) error { return f.Chtimes("file.txt", time.Unix(1, 0), time.Unix(2, 0)) }},
	{"chmod", Upload, nil, func(f *FS) error { return f.Chmod("file.txt", 0o600) }},
	{"remove", Delete, nil, func(f *FS) error { return f.Remove("file.txt") }},
	{"remove link", Delete, nil, func(f *FS) error { return f.Remove("inside") }},
	{"rmdir", Delete, nil, func(f *FS) error { return f.Rmdir("empty") }},
	{"rename", Rename, nil, func(f *FS) error { return f.Rename("file.txt", "renamed.txt") }},
	{"mkdir", Mkdir, nil, func(f *FS) error { return f.Mkdir("newdir") }},
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
			names := []string{string(tt.need)}
			for _, p := range tt.also {
				names = append(names, string(p))
			}
			fsys := l.openFS(t, names...)
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
		{[]string{"upload", "overwrite"}, []Permission{Upload, Overwrite}},
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

// TestRenameOverAFileNeedsOverwrite: replacing a file destroys it, so Rename alone may move files to free names
// only, and SFTP version 3's rename never replaces.
func TestRenameOverAFileNeedsOverwrite(t *testing.T) {
	l := newLayout(t)
	mustWrite(t, filepath.Join(l.home, "a.txt"), "a")
	mustWrite(t, filepath.Join(l.home, "b.txt"), "b")
	renameOnly := l.openFS(t, "list", "rename", "delete")
	if err := renameOnly.Rename("/a.txt", "/b.txt"); !errors.Is(err, ErrPermissionDenied) || !strings.Contains(err.Error(), "overwrite") {
		t.Fatalf("rename over a file without Overwrite: %v, want permission denied naming overwrite", err)
	}
	if mustRead(t, filepath.Join(l.home, "a.txt")) != "a" || mustRead(t, filepath.Join(l.home, "b.txt")) != "b" {
		t.Fatal("a refused rename changed a file")
	}
	if err := renameOnly.Rename("/a.txt", "/c.txt"); err != nil {
		t.Fatalf("rename to a free name with Rename alone: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(l.home, "a.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the old name is still there after a rename without Overwrite: %v", err)
	}
	withOverwrite := l.openFS(t, "list", "rename", "overwrite")
	if err := withOverwrite.RenameNoReplace("/c.txt", "/b.txt"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("RenameNoReplace over a file: %v, want fs.ErrExist", err)
	}
	if err := withOverwrite.Rename("/c.txt", "/b.txt"); err != nil {
		t.Fatalf("rename over a file with Rename and Overwrite: %v", err)
	}
	if mustRead(t, filepath.Join(l.home, "b.txt")) != "a" {
		t.Fatal("rename over a file did not replace it")
	}
	// Directories move without replacing, through the two-step path; a link is moved itself.
	if err := renameOnly.Rename("/sub", "/moved"); err != nil {
		t.Fatalf("rename of a directory without Overwrite: %v", err)
	}
	if err := renameOnly.Rename("/moved", "/empty"); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("rename of a directory over another without Overwrite: %v, want permission denied", err)
	}
	l.link(t, "link", "b.txt")
	if err := renameOnly.Rename("/link", "/link2"); err != nil {
		t.Fatalf("rename of a link: %v", err)
	}
	if target, err := os.Readlink(filepath.Join(l.home, "link2")); err != nil || target != "b.txt" {
		t.Fatalf("the renamed link points to %q (%v), want b.txt", target, err)
	}
}

// TestUploadWithoutOverwriteCreatesOnly: a user with Upload but not Overwrite can create files and write them, and
// gets a clear refusal, with the old content kept, for every way of changing an existing one.
func TestUploadWithoutOverwriteCreatesOnly(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t, "list", "upload")
	f, err := fsys.OpenWrite("/new.txt", WriteFlags{Create: true, Truncate: true})
	if err != nil {
		t.Fatalf("creating a new file: %v", err)
	}
	if _, err := f.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, flags := range []WriteFlags{{Create: true, Truncate: true}, {Create: true}, {}, {Create: true, Append: true},
		{Append: true}, {Create: true, Exclusive: true}} {
		_, err := fsys.OpenWrite("/new.txt", flags)
		if !errors.Is(err, ErrPermissionDenied) || !strings.Contains(err.Error(), "overwrite") {
			t.Errorf("OpenWrite(%+v) of an existing file = %v, want permission denied naming overwrite", flags, err)
		}
	}
	if _, err := fsys.OpenWrite("/missing.txt", WriteFlags{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenWrite without Create of a missing file = %v, want not exist", err)
	}
	if _, err := fsys.OpenWrite("/sub", WriteFlags{Create: true}); !errors.Is(err, syscall.EISDIR) {
		t.Errorf("OpenWrite of a directory = %v, want EISDIR", err)
	}
	if got := mustRead(t, filepath.Join(l.home, "new.txt")); got != "new" {
		t.Fatalf("refused opens changed the file to %q", got)
	}
}

// TestChmodNeverLocksTheServerOut: a mode without the owner's bits (chmod 000) keeps them, on a file and on the
// home directory itself, so a user cannot lock itself, other users or the server out. (Found by the independent
// check of issue 10.)
func TestChmodNeverLocksTheServerOut(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t, "list", "upload", "mkdir")
	for _, p := range []string{"/file.txt", "/", "/sub"} {
		if err := fsys.Chmod(p, 0); err != nil {
			t.Fatalf("chmod 000 %s: %v", p, err)
		}
		info, err := os.Stat(filepath.Join(l.home, p))
		if err != nil {
			t.Fatal(err)
		}
		want := fs.FileMode(0o600)
		if info.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("chmod 000 %s left mode %v, want %v", p, info.Mode().Perm(), want)
		}
	}
	if err := fsys.Chmod("/file.txt", 0o644); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(filepath.Join(l.home, "file.txt")); info.Mode().Perm() != 0o644 {
		t.Errorf("chmod 644 gave %v", info.Mode().Perm())
	}
}
