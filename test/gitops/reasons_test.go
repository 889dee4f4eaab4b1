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

package gitops

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// apiReasons are the condition and event reasons the operator may set: the string constants named Reason... in
// api/v1alpha1, by name. TestNoInlineReasons keeps the operator from setting any other.
func apiReasons(t *testing.T) map[string]string {
	t.Helper()
	reasons := map[string]string{}
	for _, file := range parseGo(t, filepath.Join(controlplane.RepoRoot(), "api", "v1alpha1"), false) {
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Reason") || i >= len(vs.Values) {
						continue
					}
					if value, ok := stringLiteral(vs.Values[i]); ok {
						reasons[name.Name] = value
					}
				}
			}
		}
	}
	return reasons
}

// parseGo parses the Go files below dir (and its subfolders when recursive), leaving out tests.
func parseGo(t *testing.T, dir string, recursive bool) map[string]*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != dir && !recursive:
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(controlplane.RepoRoot(), path)
		files[rel] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func stringLiteral(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// conditionWords are the names under which a condition's type, status or reason is passed or stored.
var conditionWords = regexp.MustCompile(`(?i)^(reason|condtype|status|type)$`)

// TestNoInlineReasons: the reconcilers (internal/controller and its packages) set no condition type, status or
// reason, and record no event reason, that is spelled out as a string there: each one is a constant of
// api/v1alpha1 (metav1's for a status), so that TestEveryReasonIsClassified sees every reason the operator sets.
// It looks where a reason goes: declarations named reason..., assignments to a reason, the fields Reason, Type and
// Status of a metav1.Condition, the argument after a ConditionTrue/False/Unknown, and the arguments of every
// function of those packages (and of events.EventRecorder.Eventf) whose parameter is named reason, condType or
// status.
func TestNoInlineReasons(t *testing.T) {
	files := parseGo(t, filepath.Join(controlplane.RepoRoot(), "internal", "controller"), true)
	params := conditionParams(files)
	if len(params["set"]) == 0 || len(params["notReady"]) == 0 {
		t.Fatalf("found no reason parameter of endpointState.set or UserReconciler.notReady: the scan no longer matches the code")
	}
	checked := 0
	for path, file := range files {
		ast.Inspect(file, func(n ast.Node) bool {
			for _, place := range reasonPlaces(n, params) {
				checked++
				if value, ok := stringLiteral(place.expr); ok {
					t.Errorf("%s: %s is the literal %q: use a constant of api/v1alpha1 (metav1.Condition... for a status)",
						path, place.what, value)
				}
			}
			if spec, ok := n.(*ast.ValueSpec); ok {
				for i, name := range spec.Names {
					if strings.HasPrefix(strings.ToLower(name.Name), "reason") && i < len(spec.Values) {
						t.Errorf("%s: %s declares a reason: declare it in api/v1alpha1/conditions.go", path, name.Name)
					}
				}
			}
			return true
		})
	}
	if checked < 50 {
		t.Errorf("checked only %d places where a reason goes in internal/controller: the scan no longer matches the code", checked)
	}
}

// conditionParams are the positions of the parameters named like a condition's parts (conditionWords) of every
// function declared in files, by function name, and Eventf's reason.
func conditionParams(files map[string]*ast.File) map[string][]int {
	params := map[string][]int{"Eventf": {3}}
	for _, file := range files {
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			i := 0
			for _, field := range fn.Type.Params.List {
				for _, name := range field.Names {
					if conditionWords.MatchString(name.Name) {
						params[fn.Name.Name] = append(params[fn.Name.Name], i)
					}
					i++
				}
				if len(field.Names) == 0 {
					i++
				}
			}
		}
	}
	return params
}

// place is an expression that gives a condition's type, status or reason.
type place struct {
	expr ast.Expr
	what string
}

// reasonPlaces are the expressions of node n that give a condition's type, status or reason.
func reasonPlaces(n ast.Node, params map[string][]int) []place {
	var out []place
	switch n := n.(type) {
	case *ast.AssignStmt:
		for i, lhs := range n.Lhs {
			if name := exprName(lhs); strings.HasSuffix(strings.ToLower(name), "reason") && i < len(n.Rhs) {
				out = append(out, place{n.Rhs[i], "the assignment to " + name})
			}
		}
	case *ast.CompositeLit:
		isCondition := exprName(n.Type) == "Condition"
		for _, elt := range n.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			if key := exprName(kv.Key); key == "Reason" || isCondition && (key == "Type" || key == "Status") {
				out = append(out, place{kv.Value, "the field " + key})
			}
		}
	case *ast.CallExpr:
		name := exprName(n.Fun)
		for _, i := range params[name] {
			if i < len(n.Args) {
				out = append(out, place{n.Args[i], "a condition argument of " + name})
			}
		}
		for i, arg := range n.Args[:max(len(n.Args)-1, 0)] {
			if s := exprName(arg); s == "ConditionTrue" || s == "ConditionFalse" || s == "ConditionUnknown" {
				out = append(out, place{n.Args[i+1], "the reason after " + s})
			}
		}
	}
	return out
}

// exprName is the name an identifier or a selector ends in: x, a.x and a.b.x all give x.
func exprName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}
