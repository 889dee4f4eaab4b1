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
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pier-dev/pier/server/app"
)

// usageError is a mistake in the command line or the PIER_* variables, as opposed to a failure while running:
// the process exits with status 2, as Go's flag package and POSIX utilities do.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// longFlagsWithOneDash rewrites -name and -name=value into --name and --name=value when name is a long flag of
// the command args[0] names. pier-server used Go's flag package before, which accepts both forms, and its help
// printed the single-dash one: command lines written from it keep working, with a note on stderr. Values are
// left alone: `--password -x` keeps "-x" as the password.
func longFlagsWithOneDash(root *cobra.Command, args []string, stderr io.Writer) []string {
	if len(args) == 0 {
		return args
	}
	cmd, _, err := root.Find(args[:1])
	if err != nil || cmd == root {
		return args
	}
	cmd.InitDefaultHelpFlag()
	fs := cmd.Flags()
	out := append([]string{}, args...)
	for i := 1; i < len(out); i++ {
		arg := out[i]
		if arg == "--" {
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			continue // a positional argument
		}
		if !strings.HasPrefix(arg, "--") {
			name, _, _ := strings.Cut(arg[1:], "=")
			if len(name) < 2 || fs.Lookup(name) == nil {
				continue // a shorthand such as -h, or no flag at all: pflag decides
			}
			// Only the name: the value may be a password.
			_, _ = fmt.Fprintf(stderr, "pier-server: reading -%s as --%s; write long flags with two dashes\n", name, name)
			arg = "-" + arg
			out[i] = arg
		}
		name, _, hasValue := strings.Cut(arg[2:], "=")
		if f := fs.Lookup(name); f != nil && !hasValue && f.NoOptDefVal == "" {
			i++ // the next argument is this flag's value, whatever it looks like
		}
	}
	return out
}

// logOptions are the --log-format and --log-level flags of serve and portable.
type logOptions struct {
	format choice
	level  levelValue
}

func (o *logOptions) addFlags(fs *pflag.FlagSet) {
	o.format = choice{value: "json", allowed: []string{"json", "text"}}
	fs.Var(&o.format, "log-format", "log format: json or text")
	fs.Var(&o.level, "log-level", "log level: debug, info, warn or error")
}

func (o *logOptions) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: o.level.level}
	if o.format.value == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// levelValue is a slog level as a flag, checked when it is set so that a bad PIER_LOG_LEVEL is named.
type levelValue struct{ level slog.Level }

func (v *levelValue) String() string { return strings.ToLower(v.level.String()) }
func (v *levelValue) Type() string   { return "level" }
func (v *levelValue) Set(s string) error {
	if err := v.level.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("want debug, info, warn or error: %w", err)
	}
	return nil
}

// choice is a string flag with a fixed set of values.
type choice struct {
	value   string
	allowed []string
}

func (c *choice) String() string { return c.value }
func (c *choice) Type() string   { return "string" }
func (c *choice) Set(s string) error {
	for _, a := range c.allowed {
		if s == a {
			c.value = s
			return nil
		}
	}
	return fmt.Errorf("want %s", strings.Join(c.allowed, " or "))
}

// portRange is a flag of the form A-B, such as 30000-30019.
type portRange struct{ start, end int }

func (r *portRange) String() string { return fmt.Sprintf("%d-%d", r.start, r.end) }
func (r *portRange) Type() string   { return "range" }
func (r *portRange) Set(s string) error {
	a, b, ok := strings.Cut(s, "-")
	start, errA := strconv.Atoi(a)
	end, errB := strconv.Atoi(b)
	if !ok || errA != nil || errB != nil {
		return fmt.Errorf("want A-B such as 30000-30019")
	}
	r.start, r.end = start, end
	return nil
}

// addPprofFlag adds --pprof, shared by serve and portable.
func addPprofFlag(fs *pflag.FlagSet, enabled *bool) {
	fs.BoolVar(enabled, "pprof", false,
		"serve Go's profiles at /debug/pprof/ on the health port; they expose memory contents to whoever reaches "+
			"that port, so only for measuring (make bench) or debugging")
}

// enableProfiling turns the profiles on when asked, and says so in the log: nobody should find them on by surprise.
func enableProfiling(server *app.Server, enabled bool, log *slog.Logger) {
	if !enabled {
		return
	}
	server.EnableProfiling()
	log.Warn("profiling is on: /debug/pprof/ on the health port shows this process's memory to whoever reaches it")
}
