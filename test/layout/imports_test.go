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

// Package layout holds the tests that keep the tree's architecture true: which package may import which
// (the rules each top-level README states), and that the Dockerfiles copy every folder their binary is built from.
package layout

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/pier-dev/pier"

// pkg is what `go list -json` says of one package of this module.
type pkg struct {
	ImportPath   string
	Dir          string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// listPackages runs go list -json: each package with its own imports and its tests' imports.
func listPackages(t *testing.T, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = repoRoot(t)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list's output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

// rel is a package's path inside the module ("server/sftp"), or "" for a package outside it.
func rel(importPath string) string {
	if importPath == module {
		return "."
	}
	if r, ok := strings.CutPrefix(importPath, module+"/"); ok {
		return r
	}
	return ""
}

// under reports whether the package path p (inside the module, or a full import path outside it) is folder or
// below it.
func under(p, folder string) bool {
	return p == folder || strings.HasPrefix(p, folder+"/")
}

// rule forbids packages under from importing any of forbidden (folders of this module, or import path prefixes
// of other modules). withTests extends it to the packages' tests.
type rule struct {
	from      string
	forbidden []string
	withTests bool
	why       string
}

var rules = []rule{
	{
		from:      "internal/serverconfig",
		forbidden: []string{"api", "internal/controller", "server", "sigs.k8s.io/controller-runtime", "k8s.io/client-go"},
		withTests: true,
		why:       "the operator-server contract imports neither side, so each side can change only through it",
	},
	{
		from:      "server",
		forbidden: []string{"api", "internal/controller", "internal/localcluster", "sigs.k8s.io/controller-runtime"},
		why:       "pier-server knows the cluster only through the contract (internal/serverconfig) and its config Secret",
	},
	{
		from:      "internal/controller/render",
		forbidden: []string{"sigs.k8s.io/controller-runtime/pkg/client", "k8s.io/client-go", "server", "internal/controller"},
		why:       "render functions are pure: spec in, objects out, no client and no reconciler state",
	},
	{
		from:      "api",
		forbidden: []string{"internal", "server", "cmd", "sigs.k8s.io/controller-runtime/pkg/client"},
		withTests: false,
		why:       "the API types are the leaf of the operator side: everything may import them, they import no pier code",
	},
	{
		from:      "internal/pki",
		forbidden: []string{"api", "cmd", "hack", "internal", "server", "test"},
		withTests: true,
		why:       "certificates are a leaf every side imports: the operator, pier-server, the demo, the real node, the tests",
	},
	{
		from:      "internal/credentials",
		forbidden: []string{"api", "cmd", "hack", "internal/controller", "internal/localcluster", "internal/pki", "server"},
		why:       "credentials are a leaf every side imports; only the contract, which says what the server accepts, is above them",
	},
	{
		from:      "internal/controller",
		forbidden: []string{"server", "internal/localcluster", "cmd"},
		why:       "the operator reaches the server only through the contract, and never runs the demo's machinery",
	},
}

// testOnly are folders whose packages only tests may import.
var testOnly = []string{"internal/testsupport"}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t, "./...")
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages: the test no longer sees the module", len(pkgs))
	}
	checked := map[string]bool{}
	for _, p := range pkgs {
		from := rel(p.ImportPath)
		for _, r := range rules {
			if under(from, r.from) {
				checked[r.from] = true
				for _, v := range r.violations(p) {
					t.Error(v)
				}
			}
		}
		for _, v := range testOnlyViolations(p) {
			t.Error(v)
		}
	}
	for _, r := range rules {
		if !checked[r.from] {
			t.Errorf("no package under %s: the rule for it checks nothing (moved? update the rules)", r.from)
		}
	}
}

// violations are the imports of p that r forbids.
func (r rule) violations(p pkg) []string {
	from := rel(p.ImportPath)
	imports := p.Imports
	if r.withTests {
		imports = slices.Concat(p.Imports, p.TestImports, p.XTestImports)
	}
	var out []string
	for _, imp := range imports {
		target := rel(imp)
		// A rule against a folder does not forbid the rule's own folder below it (internal/controller/render may
		// not import internal/controller, but may import internal/controller/render/...).
		if target != "" && under(target, r.from) {
			continue
		}
		for _, f := range r.forbidden {
			if (target != "" && under(target, f)) || (target == "" && under(imp, f)) {
				out = append(out, fmt.Sprintf("%s imports %s: %s may not import %s (%s)", from, imp, r.from, f, r.why))
			}
		}
	}
	return out
}

// testOnlyViolations are the imports of testOnly folders by p's non-test code.
func testOnlyViolations(p pkg) []string {
	from := rel(p.ImportPath)
	if under(from, "test") || slices.ContainsFunc(testOnly, func(f string) bool { return under(from, f) }) {
		return nil
	}
	var out []string
	for _, imp := range p.Imports {
		for _, f := range testOnly {
			if target := rel(imp); target != "" && under(target, f) {
				out = append(out, fmt.Sprintf("%s (not a test) imports %s: only tests may import %s", from, imp, f))
			}
		}
	}
	return out
}

// TestServerBinaryCarriesNoOperatorCode checks pier-server's whole dependency closure, not just direct imports: a
// server package that imported a helper that imported the operator would pass TestImportRules.
func TestServerBinaryCarriesNoOperatorCode(t *testing.T) {
	deps := listDeps(t, "./cmd/pier-server")
	for _, d := range deps {
		r := rel(d)
		for _, f := range []string{"api", "internal/controller", "internal/localcluster", "internal/testsupport"} {
			if r != "" && under(r, f) {
				t.Errorf("pier-server is built with %s: the server image must not carry operator or test code", d)
			}
		}
	}
}

// listDeps is every package the named package is built from (not its tests).
func listDeps(t *testing.T, pattern string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pattern)
	cmd.Dir = repoRoot(t)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pattern, err)
	}
	return strings.Fields(string(out))
}

// TestDockerfilesCopyWhatTheyBuild checks that build/<image>.Dockerfile copies every folder of this module its
// binary is built from: no Docker runs here, so a missing COPY would only show on a user's machine.
func TestDockerfilesCopyWhatTheyBuild(t *testing.T) {
	root := repoRoot(t)
	for image, cmdPkg := range map[string]string{"pier-manager": "./cmd/manager", "pier-server": "./cmd/pier-server"} {
		copied := dockerfileCopies(t, filepath.Join(root, "build", image+".Dockerfile"))
		for _, d := range listDeps(t, cmdPkg) {
			r := rel(d)
			if r == "" {
				continue
			}
			if !slices.ContainsFunc(copied, func(c string) bool { return under(r, c) }) {
				t.Errorf("build/%s.Dockerfile does not COPY %s, which %s is built from (it copies %v)", image, r, cmdPkg, copied)
			}
		}
	}
}

// dockerfileCopies is the source folders of the COPY instructions that copy from the build context.
func dockerfileCopies(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var folders []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 3 || fields[0] != "COPY" || strings.HasPrefix(fields[1], "--") {
			continue
		}
		for _, src := range fields[1 : len(fields)-1] {
			folders = append(folders, strings.TrimSuffix(filepath.Clean(src), "/"))
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(folders) == 0 {
		t.Fatalf("%s has no COPY from the build context", path)
	}
	return folders
}
