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
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// layout is a storage root on disk with one user's home in it and files outside the home that no operation may
// ever read or change:
//
//	tmp/outside/secret          outside the storage
//	tmp/outside/dir/
//	tmp/storage/storage-secret  inside the storage, outside the home
//	tmp/storage/bob/bobfile     another user's home
//	tmp/storage/alice/          the home: file.txt, sub/inner.txt, empty/
//
// tmp is nested deep inside the test's temporary directory, top, so that if the jail were broken, the links
// the tests plant (which climb at most a dozen levels with "..") would still end up inside top, where
// snapshot notices every change, rather than in the machine's real directories.
type layout struct {
	top     string // real paths (no symlinks), so they can be compared with resolved paths
	tmp     string
	storage string
	home    string
	outside string
}

const layoutDepth = 16

const homeName = "alice"

func newLayout(t testing.TB) layout {
	t.Helper()
	top, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(top, strings.Repeat("n/", layoutDepth))
	l := layout{
		top:     top,
		tmp:     tmp,
		storage: filepath.Join(tmp, "storage"),
		home:    filepath.Join(tmp, "storage", homeName),
		outside: filepath.Join(tmp, "outside"),
	}
	for _, dir := range []string{"outside/dir", "storage/bob", "storage/alice/sub", "storage/alice/empty"} {
		mustMkdirAll(t, filepath.Join(tmp, dir))
	}
	files := map[string]string{
		"outside/secret":              "top secret",
		"storage/storage-secret":      "storage secret",
		"storage/bob/bobfile":         "bob's file",
		"storage/alice/file.txt":      "hello",
		"storage/alice/sub/inner.txt": "inner",
	}
	for name, content := range files {
		mustWrite(t, filepath.Join(tmp, name), content)
	}
	return l
}

// openFS opens the layout's home with the given permission names.
func (l layout) openFS(t testing.TB, perms ...string) *FS {
	t.Helper()
	if len(perms) == 0 {
		perms = []string{string(ReadWrite)}
	}
	p, err := ParsePermissions(perms)
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := Open(l.storage, "/"+homeName, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fsys.Close() })
	return fsys
}

// link plants a symbolic link in the home, as someone with shell access to the volume could.
func (l layout) link(t testing.TB, name, target string) {
	t.Helper()
	if err := os.Symlink(target, filepath.Join(l.home, name)); err != nil {
		t.Fatal(err)
	}
}

func mustMkdirAll(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// entry is what a snapshot records of one file: enough to notice any change to it.
type entry struct {
	mode    fs.FileMode
	size    int64
	mtime   int64
	content []byte // regular files only
	target  string // symbolic links only
	info    fs.FileInfo
}

func (e entry) equal(o entry) bool {
	return e.mode == o.mode && e.size == o.size && e.mtime == o.mtime && bytes.Equal(e.content, o.content) &&
		e.target == o.target
}

// snapshot records every file under the layout's top directory except the home.
func (l layout) snapshot(t testing.TB) map[string]entry {
	t.Helper()
	return snapshotTree(t, l.top, l.home)
}

// snapshotTree records every file under root except those under skip, without following links.
func snapshotTree(t testing.TB, root, skip string) map[string]entry {
	t.Helper()
	snap := map[string]entry{}
	err := filepath.WalkDir(root, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == skip {
			return filepath.SkipDir
		}
		info, err := os.Lstat(name)
		if err != nil {
			return err
		}
		e := entry{mode: info.Mode(), size: info.Size(), mtime: info.ModTime().UnixNano(), info: info}
		switch {
		case info.Mode().IsRegular():
			e.content, err = os.ReadFile(name)
		case info.Mode()&fs.ModeSymlink != 0:
			e.target, err = os.Readlink(name)
		}
		snap[name] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// assertUnchanged fails if anything outside the home differs from before, and reports whether all is unchanged.
func (l layout) assertUnchanged(t testing.TB, before map[string]entry) bool {
	t.Helper()
	after := l.snapshot(t)
	unchanged := true
	for name, was := range before {
		now, ok := after[name]
		switch {
		case !ok:
			t.Errorf("%s outside the home was removed", name)
			unchanged = false
		case !was.equal(now):
			t.Errorf("%s outside the home was changed: before %+v, after %+v", name, was, now)
			unchanged = false
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s was created outside the home", name)
			unchanged = false
		}
	}
	return unchanged
}

// assertHomeIntact fails if the home directory was removed or replaced.
func (l layout) assertHomeIntact(t testing.TB) {
	t.Helper()
	if info, err := os.Lstat(l.home); err != nil || !info.IsDir() {
		t.Errorf("the home directory is gone or replaced: %v", err)
	}
}

// assertNotOutside fails if info describes one of the files outside the home.
func assertNotOutside(t testing.TB, info fs.FileInfo, outside map[string]entry) {
	t.Helper()
	for name, e := range outside {
		if os.SameFile(info, e.info) {
			t.Errorf("got information about %s, which is outside the home", name)
		}
	}
}

// handlePath is where an open handle really is on disk, from /proc/self/fd. ok is false where /proc is missing.
func handlePath(t testing.TB, f *os.File) (real string, ok bool) {
	t.Helper()
	conn, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	if err := conn.Control(func(d uintptr) { fd = d }); err != nil {
		t.Fatal(err)
	}
	real, err = os.Readlink(filepath.Join("/proc/self/fd", strconv.Itoa(int(fd))))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return real, true
}

// assertInHome fails if the open handle refers to anything but the home or a file under it.
func (l layout) assertInHome(t testing.TB, f *os.File) {
	t.Helper()
	real, ok := handlePath(t, f)
	if ok && real != l.home && !strings.HasPrefix(real, l.home+"/") {
		t.Errorf("handle refers to %s, outside the home %s", real, l.home)
	}
}
