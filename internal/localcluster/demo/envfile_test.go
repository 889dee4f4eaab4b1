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
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-dev/pier/internal/testsupport/shellenv"
)

// tricky are values a shell must not mangle: quotes, spaces, $, backquotes, backslashes and a newline.
var tricky = envVars{
	{"KUBECONFIG", "/home/o'brien/my demo/kubeconfig"},
	{"PASSWORD", `p@ss "word" $HOME ` + "`id`" + ` \n end` + "\nsecond line"},
	{"SFTP_PORT", "2222"},
	{"KUBECTL", "/usr/local/bin/kubectl"},
}

// TestEnvFileExportsToPrograms sources the env file in a fresh shell and lists the environment of a program it
// starts, as kubectl would see it: set but not exported, KUBECONFIG reached no program and kubectl talked to
// localhost:8080.
func TestEnvFileExportsToPrograms(t *testing.T) {
	file := filepath.Join(t.TempDir(), "endpoint.env")
	if err := writeEnvFile(file, tricky); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("env file mode: %v (%v), want 0600: it holds a password", fi.Mode(), err)
	}
	for _, shell := range []string{"bash", "sh"} {
		t.Run(shell, func(t *testing.T) {
			if _, err := exec.LookPath(shell); err != nil {
				t.Skipf("%s is not installed", shell)
			}
			// Without set -a: the file itself must export what it sets.
			got := shellenv.Exported(t, shell, `. "$1"`, file)
			for _, v := range tricky {
				if got[v.name] != v.value {
					t.Errorf("%s in a program's environment: %q, want %q", v.name, got[v.name], v.value)
				}
			}
		})
	}
}

func TestReplaceStale(t *testing.T) {
	dir := t.TempDir()
	envFile, knownHosts := filepath.Join(dir, "endpoint.env"), filepath.Join(dir, "known_hosts")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	if err := replaceStale(log, envFile, knownHosts); err != nil {
		t.Fatalf("with nothing to replace: %v", err)
	}
	if logs.Len() != 0 {
		t.Errorf("with nothing to replace, it logged: %s", logs.String())
	}

	for _, f := range []string{envFile, knownHosts} {
		if err := os.WriteFile(f, []byte("old\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := replaceStale(log, envFile, knownHosts); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{envFile, knownHosts} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", f, err)
		}
	}
	if !strings.Contains(logs.String(), "killed") || !strings.Contains(logs.String(), envFile) {
		t.Errorf("the note about the stale env file does not say what happened and which file: %s", logs.String())
	}
}
