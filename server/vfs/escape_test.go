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
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Names the escape tests try to create through links.
const (
	escapeDirName  = "pier-vfs-escape-test-dir"
	escapeFileName = "pier-vfs-escape-test-file"
)

// plantEscapes plants links in the home that lead outside it in every way we know of, and returns their names.
// A link to "/" is left to TestLinkToFilesystemRoot, which only tries operations that would do no harm to the
// machine if the jail were broken.
func (l layout) plantEscapes(t testing.TB) []string {
	t.Helper()
	links := map[string]string{
		"up":             "..",
		"upup":           "../..",
		"rel_secret":     "../../outside/secret",
		"storage_secret": "../storage-secret",
		"abs_secret":     filepath.Join(l.outside, "secret"),
		"abs_dir":        l.outside,
		"abs_storage":    l.storage,
		"bobdir":         "../bob",
		"chain1":         "chain2",
		"chain2":         "sub/../../storage-secret",
		"subup":          "sub/../..",
		"sub/deep":       "../../bob",
		"abs_inside":     filepath.Join(l.home, "file.txt"), // absolute links are refused even when inside
		"dotdot_slash":   "../",
	}
	names := make([]string, 0, len(links))
	for name, target := range links {
		l.link(t, name, target)
		names = append(names, name)
	}
	return names
}

// escapeOps are operations on paths through an escaping link L. Every one of them must fail.
func escapeOps(link string) map[string]func(*FS) error {
	openRead := func(p string) func(*FS) error {
		return func(f *FS) error { return closeIfOpen(f.OpenRead(p)) }
	}
	return map[string]func(*FS) error{
		"stat":              func(f *FS) error { _, err := f.Stat(link); return err },
		"stat secret":       func(f *FS) error { _, err := f.Stat(link + "/secret"); return err },
		"stat bobfile":      func(f *FS) error { _, err := f.Stat(link + "/bobfile"); return err },
		"read":              openRead(link),
		"read secret":       openRead(link + "/secret"),
		"read bobfile":      openRead(link + "/bobfile"),
		"read storage file": openRead(link + "/storage-secret"),
		"read via tmp":      openRead(link + "/outside/secret"),
		"write": func(f *FS) error {
			return closeIfOpen(f.OpenWrite(link, WriteFlags{Create: true, Truncate: true}))
		},
		"append": func(f *FS) error {
			return closeIfOpen(f.OpenWrite(link, WriteFlags{Append: true}))
		},
		"write into": func(f *FS) error {
			return closeIfOpen(f.OpenWrite(link+"/"+escapeFileName, WriteFlags{Create: true}))
		},
		"write secret": func(f *FS) error {
			return closeIfOpen(f.OpenWrite(link+"/secret", WriteFlags{Truncate: true}))
		},
		"mkdir":          func(f *FS) error { return f.Mkdir(link + "/" + escapeDirName) },
		"remove secret":  func(f *FS) error { return f.Remove(link + "/secret") },
		"remove bobfile": func(f *FS) error { return f.Remove(link + "/bobfile") },
		"rmdir dir":      func(f *FS) error { return f.Rmdir(link + "/dir") },
		"rename out of":  func(f *FS) error { return f.Rename(link+"/secret", "stolen") },
		"rename bobfile": func(f *FS) error { return f.Rename(link+"/bobfile", "stolen") },
		"rename into":    func(f *FS) error { return f.Rename("file.txt", link+"/"+escapeFileName) },
		"rename over":    func(f *FS) error { return f.Rename("file.txt", link+"/secret") },
		"chtimes":        func(f *FS) error { return f.Chtimes(link, time.Unix(1, 0), time.Unix(1, 0)) },
		"chtimes secret": func(f *FS) error { return f.Chtimes(link+"/secret", time.Unix(1, 0), time.Unix(1, 0)) },
		"chmod":          func(f *FS) error { return f.Chmod(link, 0o777) },
		"chmod secret":   func(f *FS) error { return f.Chmod(link+"/secret", 0o777) },
		"readlink":       func(f *FS) error { _, err := f.Readlink(link); return err },
		"opendir": func(f *FS) error {
			d, err := f.OpenDir(link)
			if err == nil {
				_ = d.Close()
			}
			return err
		},
	}
}

func closeIfOpen(f *File, err error) error {
	if err == nil {
		return f.Close()
	}
	return err
}

// TestSymlinksCannotEscape runs every escape as a ReadWrite user and as one without overwrite, whose writes and
// renames take other paths (O_EXCL creation, link-then-remove renames).
func TestSymlinksCannotEscape(t *testing.T) {
	for _, perms := range [][]string{{string(ReadWrite)}, {"list", "download", "upload", "delete", "rename", "mkdir"}} {
		l := newLayout(t)
		links := l.plantEscapes(t)
		fsys := l.openFS(t, perms...)
		before := l.snapshot(t)
		for _, link := range links {
			for opName, op := range escapeOps(link) {
				if err := op(fsys); err == nil {
					t.Errorf("%v: %s through link %s: succeeded, want an error", perms, opName, link)
				}
				if !l.assertUnchanged(t, before) {
					t.Errorf("... after %s through link %s", opName, link)
					before = l.snapshot(t) // report each change once
				}
			}
		}
		l.assertHomeIntact(t)
	}
}

// TestLinkToFilesystemRoot tries a link to "/" with operations chosen to do no harm if they got through: they
// create only names no one uses (removed again at the end), and set modes and times to what they are.
func TestLinkToFilesystemRoot(t *testing.T) {
	for _, name := range []string{escapeDirName, escapeFileName} {
		if _, err := os.Lstat("/" + name); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("/%s exists before the test, remove it: %v", name, err)
		}
		t.Cleanup(func() {
			if _, err := os.Lstat("/" + name); err == nil {
				t.Errorf("/%s was created through a link to /", name)
				_ = os.Remove("/" + name)
			}
		})
	}
	rootInfo, err := os.Stat("/")
	if err != nil {
		t.Fatal(err)
	}
	l := newLayout(t)
	l.link(t, "root", "/")
	fsys := l.openFS(t)
	ops := map[string]func() error{
		"stat":         func() error { _, err := fsys.Stat("root/etc"); return err },
		"read":         func() error { return closeIfOpen(fsys.OpenRead("root/etc/hostname")) },
		"opendir":      func() error { _, err := fsys.OpenDir("root"); return err },
		"readlink":     func() error { _, err := fsys.Readlink("root"); return err },
		"write into":   func() error { return closeIfOpen(fsys.OpenWrite("root/"+escapeFileName, WriteFlags{Create: true})) },
		"mkdir":        func() error { return fsys.Mkdir("root/" + escapeDirName) },
		"rename into":  func() error { return fsys.Rename("file.txt", "root/"+escapeFileName) },
		"chmod (same)": func() error { return fsys.Chmod("root", rootInfo.Mode().Perm()) },
		"chtimes (no change)": func() error {
			return fsys.Chtimes("root", time.Time{}, time.Time{})
		},
	}
	for name, op := range ops {
		if err := op(); err == nil {
			t.Errorf("%s through a link to /: succeeded, want an error", name)
		}
	}
}

// The link itself is inside the home: looking at it, moving it and removing it are fine and leave its target
// alone.
func TestEscapingLinksThemselvesAreHarmless(t *testing.T) {
	l := newLayout(t)
	links := l.plantEscapes(t)
	fsys := l.openFS(t, "list", "rename", "delete") // moves links without overwrite: link(2), then remove
	before := l.snapshot(t)
	for _, link := range links {
		info, err := fsys.Lstat(link)
		if err != nil {
			t.Fatalf("Lstat(%s): %v", link, err)
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("Lstat(%s) mode %v, want a symbolic link", link, info.Mode())
		}
		assertNotOutside(t, info, before)
		moved := link + ".moved"
		if err := fsys.Rename(link, moved); err != nil {
			t.Fatalf("Rename(%s): %v", link, err)
		}
		if err := fsys.Remove(moved); err != nil {
			t.Fatalf("Remove(%s): %v", moved, err)
		}
	}
	l.assertUnchanged(t, before)
	l.assertHomeIntact(t)
}

// The same operations through links that stay inside work, so the escape tests above fail for the right reason.
func TestLinksInsideAreFollowed(t *testing.T) {
	l := newLayout(t)
	l.link(t, "inside", "sub/inner.txt")
	l.link(t, "insidedir", "sub")
	l.link(t, "sub/back", "../file.txt")
	fsys := l.openFS(t)
	before := l.snapshot(t)

	f, err := fsys.OpenRead("inside")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	if err != nil || string(data) != "inner" {
		t.Errorf("read through link: %q, %v; want \"inner\"", data, err)
	}
	l.assertInHome(t, f.file)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := closeIfOpen(fsys.OpenWrite("insidedir/new", WriteFlags{Create: true})); err != nil {
		t.Errorf("write through directory link: %v", err)
	}
	if got := mustRead(t, filepath.Join(l.home, "sub/back")); got != "hello" {
		t.Errorf("sub/back reads %q", got)
	}
	for link, want := range map[string]string{"inside": "/sub/inner.txt", "insidedir": "/sub", "sub/back": "/file.txt"} {
		if got, err := fsys.Readlink(link); err != nil || got != want {
			t.Errorf("Readlink(%s) = %q, %v; want %q", link, got, err, want)
		}
	}
	if err := fsys.Chtimes("inside", time.Unix(1, 0), time.Unix(1, 0)); err != nil {
		t.Errorf("Chtimes through link: %v", err)
	}
	if info, err := os.Stat(filepath.Join(l.home, "sub/inner.txt")); err != nil || info.ModTime().Unix() != 1 {
		t.Errorf("Chtimes through link did not reach sub/inner.txt: %v", err)
	}
	l.assertUnchanged(t, before)
}

// Client paths full of ".." are cleaned below the home's "/", so they name files inside the home.
func TestDotDotPathsStayInside(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	for _, dir := range []string{"outside", "bob"} {
		if err := fsys.Mkdir(dir); err != nil {
			t.Fatal(err)
		}
	}
	before := l.snapshot(t)
	paths := []string{"../storage-secret", "../../outside/secret", "/../bob/bobfile", "sub/../../storage-secret"}
	for _, p := range paths {
		if _, err := fsys.OpenRead(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("OpenRead(%q) error %v, want not-exist (the file is outside)", p, err)
		}
	}
	for _, p := range paths {
		f, err := fsys.OpenWrite(p, WriteFlags{Create: true, Truncate: true})
		if err != nil {
			t.Fatalf("OpenWrite(%q): %v", p, err)
		}
		l.assertInHome(t, f.file)
		if _, err := f.Write([]byte("planted")); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	l.assertUnchanged(t, before)
	for _, name := range []string{"storage-secret", "outside/secret", "bob/bobfile"} {
		if got := mustRead(t, filepath.Join(l.home, name)); got != "planted" {
			t.Errorf("home/%s = %q, want the planted file inside the home", name, got)
		}
	}
}

func TestHomeDirectoryLinkPlantedBeforeOpen(t *testing.T) {
	tests := []struct {
		name   string
		home   string
		plant  func(l layout) (name, target string)
		inside string // if Open may succeed: the directory the home must really be
	}{
		{"relative link out", "/alice", func(l layout) (string, string) { return "alice", "../outside" }, ""},
		{"absolute link out", "/alice", func(l layout) (string, string) { return "alice", l.outside }, ""},
		{"link to /", "/alice", func(l layout) (string, string) { return "alice", "/" }, ""},
		{"dangling link out", "/alice", func(l layout) (string, string) { return "alice", "../outside/new" }, ""},
		{"parent link out", "/nested/alice", func(l layout) (string, string) { return "nested", "../outside" }, ""},
		{"link to another home", "/alice", func(l layout) (string, string) { return "alice", "bob" }, "bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLayout(t)
			if err := os.RemoveAll(l.home); err != nil {
				t.Fatal(err)
			}
			name, target := tt.plant(l)
			if err := os.Symlink(target, filepath.Join(l.storage, name)); err != nil {
				t.Fatal(err)
			}
			l.home = filepath.Join(l.storage, "nothing-is-inside-the-home")
			before := l.snapshot(t)
			fsys, err := Open(l.storage, tt.home, mustParse(t, "ReadWrite"))
			if err == nil {
				defer func() { _ = fsys.Close() }()
				if tt.inside == "" {
					t.Fatalf("Open succeeded through a link leading outside the storage")
				}
				d, err := fsys.root.Open(".")
				if err != nil {
					t.Fatal(err)
				}
				real, _ := handlePath(t, d)
				_ = d.Close()
				if want := filepath.Join(l.storage, tt.inside); real != want {
					t.Errorf("home is %s, want %s", real, want)
				}
				return
			}
			l.assertUnchanged(t, before)
			if _, err := os.Lstat(filepath.Join(l.outside, "alice")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open created a directory outside the storage")
			}
		})
	}
}

func mustParse(t testing.TB, names ...string) Permissions {
	t.Helper()
	p, err := ParsePermissions(names)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
