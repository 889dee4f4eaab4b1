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
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// envVars are the env file's variables, in the order they are written.
type envVars []struct{ name, value string }

// get is the value of the variable name, or "".
func (e envVars) get(name string) string {
	for _, v := range e {
		if v.name == name {
			return v.value
		}
	}
	return ""
}

// writeEnvFile writes the variables as `export NAME='value'` lines: exported, so that the programs run from a shell
// that sourced the file see them (kubectl reads KUBECONFIG from its environment, not the shell's variables).
func writeEnvFile(file string, vars envVars) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by make demo (pid %d) while it runs; removed when it stops. Use: . %s\n",
		os.Getpid(), file)
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", v.name, shellQuote(v.value))
	}
	// Written aside and renamed, so that a shell never sources half a file.
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing the env file: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("writing the env file: %w", err)
	}
	return nil
}

// shellQuote quotes s for sh, bash and zsh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// replaceStale removes the env file and known_hosts a demo that was killed (SIGKILL) left, saying so: they point at
// a cluster that is gone, and this demo writes new ones once its endpoint is Ready.
func replaceStale(log *slog.Logger, envFile, knownHosts string) error {
	if _, err := os.Stat(envFile); err == nil {
		log.Warn("removing the env file of an earlier demo that did not stop cleanly (it was killed); "+
			"a new one is written once the endpoint is Ready: source it again then", "file", envFile)
	}
	return errors.Join(removeIfExists(envFile), removeIfExists(knownHosts))
}

func removeIfExists(file string) error {
	if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
