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
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// envPrefix starts the environment variable of every flag: --log-level is PIER_LOG_LEVEL.
const envPrefix = "PIER_"

// envName is the environment variable that sets flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// alternatives are flags that say the same thing in different ways, so at most one of each group may be used.
var alternatives = [][]string{{"password", "password-file"}}

// noEnv are cobra's own flags, which make no sense as variables.
var noEnv = map[string]bool{"help": true, "version": true}

// applyEnv sets every flag the command line left alone from its PIER_* variable, which is how flags win over
// the environment. An empty variable counts as unset. A variable whose alternative was given on the command
// line is not read either: `--password-file F` beats PIER_PASSWORD as `--password P` would. It returns which
// flags came from which variable, for messages.
//
// A loop over the flag set rather than viper: viper would bring a dozen modules for these twenty lines, and
// its precedence rules are harder to see.
func applyEnv(fs *pflag.FlagSet, lookup func(string) (string, bool)) (map[string]string, error) {
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { onCommandLine[f.Name] = true })
	fromEnv := map[string]string{}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || noEnv[f.Name] || onCommandLine[f.Name] || alternativeGiven(f.Name, onCommandLine) {
			return
		}
		name := envName(f.Name)
		value, ok := lookup(name)
		if !ok || value == "" {
			return
		}
		// pflag's error names the flag and the value; the variable is what the user has to fix.
		if setErr := fs.Set(f.Name, value); setErr != nil {
			err = usageErrorf("%s: %w", name, setErr)
			return
		}
		fromEnv[f.Name] = name
	})
	if err != nil {
		return nil, err
	}
	return fromEnv, checkAlternatives(fs, fromEnv)
}

// alternativeGiven says whether a flag of name's alternatives group is in given.
func alternativeGiven(name string, given map[string]bool) bool {
	for _, group := range alternatives {
		if !slices.Contains(group, name) {
			continue
		}
		for _, other := range group {
			if other != name && given[other] {
				return true
			}
		}
	}
	return false
}

// checkAlternatives refuses two flags of one alternatives group, naming each as the user gave it.
func checkAlternatives(fs *pflag.FlagSet, fromEnv map[string]string) error {
	for _, group := range alternatives {
		var given []string
		for _, name := range group {
			if f := fs.Lookup(name); f != nil && f.Changed {
				given = append(given, source(name, fromEnv))
			}
		}
		if len(given) > 1 {
			return usageErrorf("%s cannot be used together: give one", strings.Join(given, " and "))
		}
	}
	return nil
}

// source names where a flag's value came from: "--name", or its variable.
func source(name string, fromEnv map[string]string) string {
	if v, ok := fromEnv[name]; ok {
		return v
	}
	return "--" + name
}

// documentEnv adds each flag's variable to its help text.
func documentEnv(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if !noEnv[f.Name] {
			f.Usage += " [$" + envName(f.Name) + "]"
		}
	})
}
