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

package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cleanEnv unsets the bench's variables for the test, so that a shell's settings do not change what it checks.
func cleanEnv(t *testing.T) {
	for _, name := range []string{"QUICK", "ENDPOINTS", "USERS_PER_ENDPOINT", "ONE_ENDPOINT_USERS", "SCENARIOS", "TIMEOUT",
		"QUIET", "WORKERS", "REVISION", "BASELINE"} {
		t.Setenv("BENCH_CP_"+name, "")
	}
}

func TestParseOptions(t *testing.T) {
	cleanEnv(t)
	o, err := parseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.endpoints != 1000 || o.usersPerEndpoint != 10 || o.oneEndpointUsers != 1000 || o.timeout != 600*time.Second ||
		o.quiet != time.Minute || len(o.selected()) != 4 || !o.official() {
		t.Errorf("defaults = %+v; want issue 14's sizes, every scenario, the project's figures", o)
	}
}

func TestQuickOptions(t *testing.T) {
	cleanEnv(t)
	t.Setenv("BENCH_CP_QUICK", "1")
	t.Setenv("BENCH_CP_SCENARIOS", "hashed|one")
	o, err := parseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.endpoints != 100 || o.timeout != 300*time.Second || o.quiet != 20*time.Second || o.official() ||
		strings.Join(o.selected(), ",") != "prehashed,one-endpoint" {
		t.Errorf("quick from the environment = %+v, scenarios %v", o, o.selected())
	}
	t.Setenv("BENCH_CP_QUICK", "maybe")
	if _, err := parseOptions(nil); err == nil || !strings.Contains(err.Error(), "BENCH_CP_QUICK") {
		t.Errorf("BENCH_CP_QUICK=maybe: %v", err)
	}
	t.Setenv("BENCH_CP_QUICK", "1")
	// A flag overrides its variable, and the quick mode's defaults.
	if o, err = parseOptions([]string{"-endpoints", "7", "-quiet", "5s", "-scenarios", "plaintext"}); err != nil ||
		o.endpoints != 7 || o.quiet != 5*time.Second || o.timeout != 300*time.Second || len(o.selected()) != 1 {
		t.Errorf("flags: %+v, %v", o, err)
	}
}

func TestOptionErrors(t *testing.T) {
	cleanEnv(t)
	if o, err := parseOptions([]string{"-baseline", "main"}); err != nil || o.official() {
		t.Errorf("a run with a baseline counts as the project's figures: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"-endpoints", "0"}, {"-users-per-endpoint", "x"}, {"-one-endpoint-users", "-3"}, {"-workers", "1e3"},
		{"-timeout", "10"}, {"-quiet", "-1s"}, {"-scenarios", "("}, {"-scenarios", "nothing"}, {"-quick=maybe"},
	} {
		flagName, _, _ := strings.Cut(args[0], "=")
		if _, err := parseOptions(args); err == nil || !strings.Contains(err.Error(), flagName) {
			t.Errorf("parseOptions(%q) = %v; want an error naming %s", args, err, flagName)
		}
	}
}

func tarOf(t *testing.T, entries ...*tar.Header) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := w.Write([]byte(h.Name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestExtractTar(t *testing.T) {
	dir := t.TempDir()
	archive := tarOf(t,
		&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "abc"}},
		&tar.Header{Typeflag: tar.TypeDir, Name: "cmd/", Mode: 0o755},
		&tar.Header{Typeflag: tar.TypeReg, Name: "cmd/manager/main.go", Mode: 0o644},
		&tar.Header{Typeflag: tar.TypeReg, Name: "hack/run.sh", Mode: 0o755},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "docs/link.md", Linkname: "../cmd/manager/main.go"},
	)
	if err := extractTar(archive, dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "docs", "link.md"))
	if err != nil || string(data) != "cmd/manager/main.go" {
		t.Errorf("through the link: %q, %v", data, err)
	}
	if info, err := os.Stat(filepath.Join(dir, "hack", "run.sh")); err != nil || info.Mode().Perm()&0o100 == 0 {
		t.Errorf("the script lost its mode: %v, %v", info, err)
	}
	for _, bad := range []*tar.Header{
		{Typeflag: tar.TypeReg, Name: "../escape", Mode: 0o644},
		{Typeflag: tar.TypeReg, Name: "/etc/escape", Mode: 0o644},
		{Typeflag: tar.TypeSymlink, Name: "a/link", Linkname: "../../outside"},
		{Typeflag: tar.TypeSymlink, Name: "a/abs", Linkname: "/etc/passwd"},
	} {
		if err := extractTar(tarOf(t, bad), t.TempDir()); err == nil {
			t.Errorf("extractTar accepted %q -> %q", bad.Name, bad.Linkname)
		}
	}
}
