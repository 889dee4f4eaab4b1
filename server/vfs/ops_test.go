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
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpenCreatesHomeDirectory(t *testing.T) {
	storage := t.TempDir()
	fsys, err := Open(storage, "/team/alice", mustParse(t, "ReadWrite"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fsys.Close() }()
	info, err := os.Stat(filepath.Join(storage, "team/alice"))
	if err != nil || !info.IsDir() || info.Mode().Perm()&^dirMode != 0 {
		t.Fatalf("home directory: %v, %v; want a directory with at most mode %v", info, err, dirMode)
	}
	writeAll(t, fsys, "/hello.txt", WriteFlags{Create: true}, []byte("hi"))
	if got := mustRead(t, filepath.Join(storage, "team/alice/hello.txt")); got != "hi" {
		t.Errorf("file written in the home reads %q from disk", got)
	}

	// Opening again finds the existing home and its file.
	again, err := Open(storage, "/team/alice/", mustParse(t, "ReadOnly"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = again.Close() }()
	if got := readAll(t, again, "hello.txt"); string(got) != "hi" {
		t.Errorf("second Open reads %q", got)
	}
}

func TestOpenWholeStorage(t *testing.T) {
	l := newLayout(t)
	fsys, err := Open(l.storage, "/", mustParse(t, "ReadOnly"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fsys.Close() }()
	if got := readAll(t, fsys, "/alice/file.txt"); string(got) != "hello" {
		t.Errorf("alice/file.txt = %q", got)
	}
	if _, err := fsys.OpenRead("../outside/secret"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reading above the storage: %v, want not-exist", err)
	}
}

func TestOpenErrors(t *testing.T) {
	l := newLayout(t)
	for _, home := range []string{"", "alice", "/a\x00b", "/file-not-dir/x"} {
		if home == "/file-not-dir/x" {
			mustWrite(t, filepath.Join(l.storage, "file-not-dir"), "")
		}
		if fsys, err := Open(l.storage, home, Permissions{}); err == nil {
			_ = fsys.Close()
			t.Errorf("Open(%q) succeeded", home)
		}
	}
	if _, err := Open(filepath.Join(l.tmp, "missing"), "/alice", Permissions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open with a missing storage root: %v, want not-exist", err)
	}
}

func TestStat(t *testing.T) {
	l := newLayout(t)
	l.link(t, "inside", "file.txt")
	fsys := l.openFS(t)
	for _, p := range []string{"", "/", ".", "..", "/.."} {
		info, err := fsys.Stat(p)
		if err != nil || !info.IsDir() {
			t.Errorf("Stat(%q) = %v, %v; want the home directory", p, info, err)
		}
	}
	info, err := fsys.Stat("inside")
	if err != nil || !info.Mode().IsRegular() || info.Size() != 5 {
		t.Errorf("Stat through a link: %v, %v; want file.txt", info, err)
	}
	info, err = fsys.Lstat("inside")
	if err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat of a link: %v, %v; want the link", info, err)
	}
	if _, err := fsys.Stat("missing"); !errors.Is(err, fs.ErrNotExist) || !os.IsNotExist(err) {
		t.Errorf("Stat of a missing file: %v, want not-exist (for errors.Is and os.IsNotExist)", err)
	}
}

func TestErrorsDoNotRevealServerPaths(t *testing.T) {
	l := newLayout(t)
	l.link(t, "out", "../../outside/secret")
	fsys := l.openFS(t)
	_, err1 := fsys.Stat("/sub/missing")
	_, err2 := fsys.OpenRead("out")
	_, err3 := fsys.Readlink("out")
	err4 := fsys.Rename("missing", "x")
	err5 := fsys.Mkdir("file.txt/x")
	for _, err := range []error{err1, err2, err3, err4, err5} {
		if err == nil {
			t.Fatal("operation succeeded")
		}
		if strings.Contains(err.Error(), l.tmp) || strings.Contains(err.Error(), "outside") {
			t.Errorf("error %q reveals a path on the server's disk", err)
		}
	}
	if want := "stat /sub/missing: no such file or directory"; err1.Error() != want {
		t.Errorf("error %q, want %q", err1, want)
	}
}

func TestMkdir(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	if err := fsys.Mkdir("/sub/new"); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(l.home, "sub/new")); err != nil || !info.IsDir() {
		t.Errorf("new directory: %v, %v", info, err)
	}
	if err := fsys.Mkdir("sub/new"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Mkdir of an existing directory: %v, want exists", err)
	}
	if err := fsys.Mkdir("missing/new"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Mkdir without parent: %v, want not-exist", err)
	}
}

func TestRemoveAndRmdir(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	if err := fsys.Remove("sub"); !errors.Is(err, syscall.EISDIR) {
		t.Errorf("Remove of a directory: %v, want EISDIR", err)
	}
	if err := fsys.Rmdir("file.txt"); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("Rmdir of a file: %v, want ENOTDIR", err)
	}
	if err := fsys.Rmdir("sub"); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("Rmdir of a non-empty directory: %v, want ENOTEMPTY", err)
	}
	if err := fsys.Remove("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove of a missing file: %v, want not-exist", err)
	}
	for _, p := range []string{"/", "", "sub/..", "../.."} {
		if err := fsys.Remove(p); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Remove(%q): %v, want permission denied", p, err)
		}
		if err := fsys.Rmdir(p); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Rmdir(%q): %v, want permission denied", p, err)
		}
	}
	if err := fsys.Remove("sub/inner.txt"); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rmdir("sub"); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rmdir("empty"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sub", "empty"} {
		if _, err := os.Lstat(filepath.Join(l.home, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists: %v", name, err)
		}
	}
	l.assertHomeIntact(t)
}

func TestRename(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	mustWrite(t, filepath.Join(l.home, "old.txt"), "old")
	if err := fsys.Rename("file.txt", "old.txt"); err != nil {
		t.Fatalf("Rename over an existing file: %v", err)
	}
	if got := mustRead(t, filepath.Join(l.home, "old.txt")); got != "hello" {
		t.Errorf("destination = %q, want the renamed file's content", got)
	}
	if err := fsys.Rename("old.txt", "empty"); err == nil {
		t.Errorf("Rename over an existing directory succeeded")
	}
	if err := fsys.Rename("sub", "empty/moved"); err != nil {
		t.Fatalf("Rename of a directory: %v", err)
	}
	if got := mustRead(t, filepath.Join(l.home, "empty/moved/inner.txt")); got != "inner" {
		t.Errorf("moved directory's file = %q", got)
	}
	if err := fsys.Rename("missing", "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Rename of a missing file: %v, want not-exist", err)
	}
	for _, tt := range [][2]string{{"/", "x"}, {"", "x"}, {"..", "x"}, {"old.txt", "/"}, {"old.txt", "sub/.."}} {
		if err := fsys.Rename(tt[0], tt[1]); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Rename(%q, %q): %v, want permission denied", tt[0], tt[1], err)
		}
	}
	l.assertHomeIntact(t)
}

func TestChmod(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	name := filepath.Join(l.home, "file.txt")
	for _, mode := range []fs.FileMode{0o4755, 0o7777, 0o755 | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky, 0o100644} {
		if err := fsys.Chmod("file.txt", mode); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := info.Mode(), mode.Perm(); got != want {
			t.Errorf("Chmod(%v) gave mode %v, want %v", mode, got, want)
		}
	}
}

func TestChtimes(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := fsys.Chtimes("/sub/inner.txt", mtime, mtime); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(l.home, "sub/inner.txt"))
	if err != nil || !info.ModTime().Equal(mtime) {
		t.Errorf("mtime %v, %v; want %v", info.ModTime(), err, mtime)
	}
	if err := fsys.Chtimes("missing", mtime, mtime); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Chtimes of a missing file: %v, want not-exist", err)
	}
}

func TestReadlink(t *testing.T) {
	l := newLayout(t)
	links := map[string]string{
		"to_file":          "file.txt",
		"sub/to_parent":    "../file.txt",
		"sub/to_self":      ".",
		"to_home":          ".",
		"dangling":         "not/yet/there",
		"sub/up_and_in":    "../sub/inner.txt",
		"loop1":            "loop2",
		"loop2":            "loop1",
		"via_dotdot":       "sub/../file.txt",
		"abs":              filepath.Join(l.home, "file.txt"),
		"escape_lexically": "sub/../../alice/file.txt",
	}
	for name, target := range links {
		l.link(t, name, target)
	}
	fsys := l.openFS(t)
	want := map[string]string{
		"to_file":       "/file.txt",
		"sub/to_parent": "/file.txt",
		"sub/to_self":   "/sub",
		"to_home":       "/",
		"dangling":      "/not/yet/there",
		"sub/up_and_in": "/sub/inner.txt",
		"via_dotdot":    "/file.txt",
	}
	for name := range links {
		got, err := fsys.Readlink("/" + name)
		if w, ok := want[name]; ok {
			if err != nil || got != w {
				t.Errorf("Readlink(%s) = %q, %v; want %q", name, got, err, w)
			}
		} else if err == nil {
			t.Errorf("Readlink(%s) = %q, want an error", name, got)
		}
	}
	if _, err := fsys.Readlink("file.txt"); !errors.Is(err, fs.ErrInvalid) && !errors.Is(err, syscall.EINVAL) {
		t.Errorf("Readlink of a regular file: %v, want EINVAL", err)
	}
}

func TestStatvfs(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	got, err := fsys.Statvfs()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("Statvfs is only implemented on Linux")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got.BlockSize == 0 || got.Blocks == 0 || got.NameMax == 0 || got.BlocksAvailable > got.Blocks {
		t.Errorf("implausible statistics %+v", got)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(l.home, &st); err != nil {
		t.Fatal(err)
	}
	if got.Blocks != st.Blocks || got.Files != st.Files {
		t.Errorf("Statvfs %+v differs from statfs of the home %+v", got, st)
	}
}

func TestClosedFS(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	if err := fsys.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Stat("file.txt"); err == nil {
		t.Errorf("Stat after Close succeeded")
	}
}
