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

package layout

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// offVocabulary maps the other names a log key could give the things docs/logging.md names, to the key pier uses
// for each, so that the manager's and pier-server's lines can be searched with the same query.
var offVocabulary = invert(map[string][]string{
	"remote":    {"remoteAddr", "remote_addr", "remoteAddress", "clientAddr", "clientIP", "client", "peer", "ip"},
	"username":  {"userName", "user_name", "login", "account"},
	"user":      {"tu", "transferUser", "transferuser"},
	"endpoint":  {"te", "transferEndpoint", "transferendpoint", "endpointName", "endpoint_name"},
	"namespace": {"ns", "Namespace"},
	"protocol":  {"proto", "Protocol"},
	"error":     {"err"},
})

// invert maps each off-vocabulary key to the key to use instead.
func invert(synonyms map[string][]string) map[string]string {
	out := map[string]string{}
	for key, others := range synonyms {
		for _, o := range others {
			out[o] = key
		}
	}
	return out
}

// logMethods are the slog and logr methods whose arguments hold log keys.
var logMethods = map[string]bool{
	"Debug": true, "Info": true, "Warn": true, "Error": true, "With": true, "WithValues": true, "Log": true,
	"LogAttrs": true, "DebugContext": true, "InfoContext": true, "WarnContext": true, "ErrorContext": true,
}

// slogAttrs are slog's attribute constructors, whose first argument is the key.
var slogAttrs = map[string]bool{
	"String": true, "Int": true, "Int64": true, "Uint64": true, "Float64": true, "Bool": true, "Time": true,
	"Duration": true, "Any": true, "Group": true,
}

// offKeys lists the off-vocabulary keys that file's log calls use, with their positions.
func offKeys(fset *token.FileSet, file *ast.File) []string {
	var found []string
	check := func(arg ast.Expr) {
		lit, ok := arg.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return
		}
		key, err := strconv.Unquote(lit.Value)
		if err != nil {
			return
		}
		if want, off := offVocabulary[key]; off {
			found = append(found, fmt.Sprintf("%s: log key %q, use %q (docs/logging.md)", fset.Position(lit.Pos()), key, want))
		}
	}
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "slog" && slogAttrs[sel.Sel.Name] && len(call.Args) > 0 {
			check(call.Args[0])
			return true
		}
		if logMethods[sel.Sel.Name] {
			for _, arg := range call.Args {
				check(arg)
			}
		}
		return true
	})
	return found
}

// Every log call of the module's code uses the shared keys for the things both the manager and pier-server log
// about (docs/logging.md).
func TestLogVocabulary(t *testing.T) {
	root := repoRoot(t)
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			// third_party is others' code; bin and dist hold build output.
			if rel == "third_party" || rel == "bin" || rel == "dist" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files++
		for _, problem := range offKeys(fset, file) {
			t.Error(problem)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d Go files read under %s", files, root)
	}
}

// The check finds an off-vocabulary key in each kind of call, and accepts the shared ones.
func TestLogVocabularyCheck(t *testing.T) {
	src := `package x
func f() {
	log.Info("logged in", "user", u, "remoteAddr", r)
	logger.With("ns", n).Error(err, "failed", "endpoint", e)
	log.LogAttrs(ctx, level, "transfer", slog.String("proto", p), slog.String("remote", r))
}`
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := offKeys(fset, file)
	keys := make([]string, 0, len(got))
	for _, g := range got {
		keys = append(keys, strings.Split(g, `"`)[1])
	}
	if fmt.Sprint(keys) != "[remoteAddr ns proto]" {
		t.Errorf("found %v, want remoteAddr, ns and proto:\n%s", keys, strings.Join(got, "\n"))
	}
}
