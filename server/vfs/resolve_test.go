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
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "", want: "."},
		{in: "/", want: "."},
		{in: ".", want: "."},
		{in: "..", want: "."},
		{in: "///", want: "."},
		{in: "/./..", want: "."},
		{in: "../../etc/passwd", want: "etc/passwd"},
		{in: "/../../etc/passwd", want: "etc/passwd"},
		{in: "a/../../b", want: "b"},
		{in: "a/b/../../../..", want: "."},
		{in: "/a/b", want: "a/b"},
		{in: "a/b", want: "a/b"},
		{in: "a/b/", want: "a/b"},
		{in: "a//b/./c", want: "a/b/c"},
		{in: "//a//b//", want: "a/b"},
		{in: "./a", want: "a"},
		{in: "...", want: "..."},
		{in: "..a/b..", want: "..a/b.."},
		{in: `..\..\etc`, want: `..\..\etc`}, // a backslash is an ordinary character on Linux
		{in: " ", want: " "},
		{in: "a\x00b", wantErr: true},
		{in: "\x00", wantErr: true},
		{in: "/a/\x00/..", wantErr: true},
		{in: strings.Repeat("a", MaxPathLength), want: strings.Repeat("a", MaxPathLength)},
		{in: "/" + strings.Repeat("a", MaxPathLength-1), want: strings.Repeat("a", MaxPathLength-1)},
		{in: strings.Repeat("a", MaxPathLength+1), wantErr: true},
		{in: strings.Repeat("../", MaxPathLength/3), want: "."},
		{in: strings.Repeat("../", MaxPathLength/3+1), wantErr: true},
	}
	for _, tt := range tests {
		got, err := resolve(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalidPath) {
				t.Errorf("resolve(%.40q) = %q, %v; want an error wrapping ErrInvalidPath", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("resolve(%.40q) = %.40q, %v; want %.40q", tt.in, got, err, tt.want)
		}
	}
}

func TestInvalidPathsAreRejectedByEveryMethod(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	for _, p := range []string{"file.txt\x00", strings.Repeat("x/", MaxPathLength)} {
		for name, op := range escapeOps(p) {
			if err := op(fsys); !errors.Is(err, ErrInvalidPath) {
				t.Errorf("%s with an invalid path: %v, want ErrInvalidPath", name, err)
			}
		}
		if err := fsys.Rename(p, "x"); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("Rename from an invalid path: %v, want ErrInvalidPath", err)
		}
		if err := fsys.Rename("file.txt", p); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("Rename to an invalid path: %v, want ErrInvalidPath", err)
		}
	}
}

// resolveSeeds are client paths worth trying, for both fuzz tests.
var resolveSeeds = []string{
	"", "/", ".", "..", "../..", "../../etc/passwd", "/../storage-secret", "a//b/./c", "file.txt", "/file.txt",
	"sub/inner.txt", "sub/../../storage-secret", "up/storage-secret", "upup/outside/secret", "rel_secret",
	"abs_dir/secret", "abs_storage/bob/bobfile", "bobdir/bobfile", "chain1", "subup/bob/bobfile", "sub/deep/bobfile",
	"abs_inside", "dotdot_slash/storage-secret", "empty", "empty/..", "new/", "\x00", "a\x00b", `..\..\x`,
}

// FuzzResolve feeds client paths to resolve and then to every operation in a home full of links leading out.
// Whatever the path, resolve's result must be a clean name inside the root, and every operation must either
// fail or touch only the home.
func FuzzResolve(f *testing.F) {
	for _, seed := range resolveSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, err := resolve(p)
		if err == nil {
			if !filepath.IsLocal(name) || path.Clean(name) != name || strings.HasPrefix(name, "/") {
				t.Fatalf("resolve(%q) = %q, not a clean local name", p, name)
			}
			if again, err := resolve(name); err != nil || again != name {
				t.Fatalf("resolve(resolve(%q)) = %q, %v; want %q", p, again, err, name)
			}
		} else if !errors.Is(err, ErrInvalidPath) {
			t.Fatalf("resolve(%q) error %v does not wrap ErrInvalidPath", p, err)
		}

		l := newLayout(t)
		l.plantEscapes(t)
		runAllOperations(t, l, p, "file.txt")
	})
}
