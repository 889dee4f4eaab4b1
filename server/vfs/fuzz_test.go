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
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runAllOperations tries every operation on the client path p (and renames between p and p2) in layout l, and
// fails the test if any of them reads, creates, changes or removes anything outside the home. Operations may
// fail; most do.
func runAllOperations(t *testing.T, l layout, p, p2 string) {
	t.Helper()
	fsys := l.openFS(t)
	before := l.snapshot(t)
	check := func(op string) {
		t.Helper()
		l.assertUnchanged(t, before)
		l.assertHomeIntact(t)
		if t.Failed() {
			t.Fatalf("after %s with paths %q and %q", op, p, p2)
		}
	}

	if info, err := fsys.Stat(p); err == nil {
		assertNotOutside(t, info, before)
	}
	if info, err := fsys.Lstat(p); err == nil {
		assertNotOutside(t, info, before)
	}
	if target, err := fsys.Readlink(p); err == nil {
		if !path.IsAbs(target) || path.Clean(target) != target {
			t.Errorf("Readlink(%q) = %q, not a clean jail path", p, target)
		}
	}
	if d, err := fsys.OpenDir(p); err == nil {
		l.assertInHome(t, d.file)
		if _, err := d.Next(5); err != nil && !errors.Is(err, io.EOF) {
			t.Errorf("Next: %v", err)
		}
		_ = d.Close()
	}
	if f, err := fsys.OpenRead(p); err == nil {
		l.assertInHome(t, f.file)
		_, _ = io.Copy(io.Discard, f)
		_ = f.Close()
	}
	check("Stat, Lstat, Readlink, OpenDir and OpenRead") // they change nothing, so one check covers them

	writes := []WriteFlags{{Create: true, Truncate: true}, {}, {Create: true, Append: true}, {Create: true, Exclusive: true}}
	for _, flags := range writes {
		if f, err := fsys.OpenWrite(p, flags); err == nil {
			l.assertInHome(t, f.file)
			if flags.Append {
				_, err = f.Write([]byte("appended"))
			} else {
				_, err = f.WriteAt([]byte("fuzz"), 1)
			}
			if err != nil {
				t.Errorf("write to %q opened with %+v: %v", p, flags, err)
			}
			if err := f.Close(); err != nil {
				t.Errorf("close %q: %v", p, err)
			}
		}
		check("OpenWrite")
	}
	_ = fsys.Chtimes(p, time.Unix(1, 0), time.Unix(1, 0))
	check("Chtimes")
	_ = fsys.Chmod(p, 0o7777|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
	check("Chmod")
	l.assertNoSpecialBits(t)
	_ = fsys.Mkdir(p)
	check("Mkdir")
	_ = fsys.Rename(p, p2)
	check("Rename")
	_ = fsys.Rename(p2, p)
	check("Rename")
	_ = fsys.Remove(p)
	check("Remove")
	_ = fsys.Rmdir(p)
	check("Rmdir")
	_ = fsys.Rmdir(path.Dir(p))
	check("Rmdir")
}

// assertNoSpecialBits fails if Chmod left a setuid, setgid or sticky bit on anything in the home.
func (l layout) assertNoSpecialBits(t testing.TB) {
	t.Helper()
	_ = filepath.WalkDir(l.home, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // removed while walking, or unreadable: nothing to check
		}
		if info, err := d.Info(); err == nil && info.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
			t.Errorf("%s has mode %v after Chmod", name, info.Mode())
		}
		return nil
	})
}

// fuzzTargets are link targets for FuzzJail's random layouts: ways out, ways back in, and ordinary ones.
func (l layout) fuzzTargets() []string {
	return []string{
		"..", "../..", "../../..", ".", "./", "e0", "e1", "e1/..", "e2/../..", "e3/../../..",
		"../storage-secret", "../../outside/secret", "../bob", "../" + homeName, "../" + homeName + "/e0",
		"file.txt", "sub", "sub/..", "sub/../..", "missing", "../missing",
		l.outside, filepath.Join(l.outside, "secret"), l.storage, l.home, filepath.Join(l.home, "file.txt"),
	}
}

// buildLayout plants entries e0, e1, ... in the home as spec says, three bytes each: the kind (file, directory
// or link), the directory to put it in (the home or an earlier directory) and, for links, the target.
// extraTarget, made safe, is one more target to choose from.
func (l layout) buildLayout(t *testing.T, spec []byte, extraTarget string) {
	t.Helper()
	targets := l.fuzzTargets()
	if target := safeTarget(l, extraTarget); target != "" {
		targets = append(targets, target)
	}
	dirs := []string{l.home, filepath.Join(l.home, "sub")}
	for i := 0; i+2 < len(spec) && i < 3*16; i += 3 {
		kind, parent, target := spec[i], spec[i+1], spec[i+2]
		name := filepath.Join(dirs[int(parent)%len(dirs)], "e"+string(rune('0'+i/3%10))+strings.Repeat("x", i/30))
		var err error
		switch kind % 3 {
		case 0:
			err = os.WriteFile(name, []byte("fuzz layout"), 0o640)
		case 1:
			err = os.Mkdir(name, 0o750)
			dirs = append(dirs, name)
		case 2:
			err = os.Symlink(targets[int(target)%len(targets)], name)
		}
		if err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
}

// safeTarget keeps a fuzzed link target from pointing anywhere but the test's own directory if the jail were
// broken: absolute targets are moved under it and long climbs with ".." are cut. Returns "" for no target.
func safeTarget(l layout, target string) string {
	target = strings.ReplaceAll(target, "\x00", "")
	if target == "" || len(target) > 256 {
		return ""
	}
	if filepath.IsAbs(target) {
		return filepath.Join(l.tmp, target)
	}
	if strings.Count(target, "..") > 2 {
		return ""
	}
	return target
}

// FuzzJail builds a random home full of files, directories and links (some leading out, in every way we know)
// and runs every operation on a fuzzed path. Nothing outside the home may be read, created, changed or removed.
func FuzzJail(f *testing.F) {
	seeds := []struct {
		layout      []byte
		p, p2, link string
	}{
		{[]byte{2, 0, 0}, "e0/storage-secret", "x", ""},
		{[]byte{2, 0, 1, 2, 0, 11}, "e0/bob/bobfile", "e1", "../.."},
		{[]byte{1, 0, 0, 2, 2, 2}, "e0/e1/outside/secret", "e0/x", "/outside"},
		{[]byte{1, 0, 0, 2, 2, 9}, "e0/e1", "e0/e1/x", "sub/../../storage-secret"},
		{[]byte{2, 0, 21, 2, 0, 22}, "e0/secret", "e1", ""},
		{[]byte{2, 0, 5, 2, 0, 6}, "e0", "e1", ""},
		{[]byte{2, 1, 12, 1, 0, 0}, "sub/e0/bobfile", "e1/x", ""},
		{[]byte{2, 0, 25, 2, 0, 26}, "e1", "e0", "storage/storage-secret"},
		{[]byte{0, 0, 0, 1, 0, 0, 2, 2, 7}, "e1/e2/x", "e0", ""},
		{nil, "../../outside/secret", "file.txt", ""},
	}
	for _, s := range seeds {
		f.Add(s.layout, s.p, s.p2, s.link)
	}
	for _, p := range resolveSeeds {
		f.Add([]byte{2, 0, 0, 2, 0, 1, 1, 0, 0, 2, 2, 11}, p, "e0", "")
	}
	f.Fuzz(func(t *testing.T, spec []byte, p, p2, link string) {
		l := newLayout(t)
		l.buildLayout(t, spec, link)
		runAllOperations(t, l, p, p2)
	})
}
