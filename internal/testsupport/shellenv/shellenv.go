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

// Package shellenv shows tests what a shell script exports: the environment a program started after it sees.
package shellenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Exported runs script with shell (sh, bash, ...) in an environment that holds PATH alone, then starts env, and
// returns env's environment: exactly what the script exported, as any program it started would see it. args are
// the script's $1, $2, ...; a script or env that fails fails the test.
func Exported(t testing.TB, shell, script string, args ...string) map[string]string {
	t.Helper()
	// env -0 is a program of its own: it sees only what was exported, and NUL-separates values that hold newlines.
	cmd := exec.Command(shell, append([]string{"-c", script + " && env -0", shell}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -c %q %v: %v", shell, script, args, err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(out), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
