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
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/pflag"
)

// The version and commit the test binary is built with, as `make build` and hack/images set them.
const (
	testVersion = "1.2.3-test"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
)

var (
	binaryDir  string // made by TestMain, removed after the tests
	buildOnce  sync.Once
	binaryPath string
	buildErr   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pier-server-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaryDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds pier-server once for the tests that run it as a user would, with the linker flags of a release.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binaryPath = filepath.Join(binaryDir, "pier-server")
		ldflags := "-X main.version=" + testVersion + " -X main.commit=" + testCommit
		out, err := exec.Command("go", "build", "-buildvcs=false", "-ldflags", ldflags, "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binaryPath
}

// environ is this process's environment without PIER_* variables, plus env: what the binary sees, whatever the
// developer's shell exports.
func environ(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// result is one run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

// runBinary runs the built pier-server with args and the PIER_* variables in env.
func runBinary(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = environ(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("pier-server %v: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// runInProcess runs the command line in this process, with env as its only variables.
func runInProcess(ctx context.Context, env map[string]string, args ...string) result {
	var stdout, stderr bytes.Buffer
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	code := run(ctx, args, lookup, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// serve runs `pier-server serve ARGS` in this process with no PIER_* variables and returns its error.
func serve(ctx context.Context, args []string) error {
	c := &cli{lookupEnv: func(string) (string, bool) { return "", false }, stdout: os.Stdout, stderr: os.Stderr}
	_, err := c.execute(ctx, append([]string{"serve"}, args...))
	return err
}

// TestHelp: every way of asking for help prints it to stdout and exits 0, and long flags are shown with two
// dashes.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"}, {"help", "serve"}, {"help", "portable"}, {"help", "version"},
		{"serve", "--help"}, {"serve", "-h"}, {"portable", "--help"}, {"version", "--help"},
		{"serve", "--config", "x", "--help"},
	} {
		r := runBinary(t, nil, args...)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("pier-server %v: exit %d, stdout %q, stderr %q; want the help on stdout and exit 0",
				args, r.code, r.stdout, r.stderr)
		}
	}
	r := runBinary(t, nil, "serve", "--help")
	for _, want := range []string{"--config string", "--config-secret string", "[$PIER_CONFIG]", "[$PIER_LOG_LEVEL]"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, r.stdout)
		}
	}
	if m := regexp.MustCompile(`(^|\s)-[a-z][a-z-]+`).FindString(r.stdout); m != "" {
		t.Errorf("serve --help shows the long flag %q with one dash:\n%s", m, r.stdout)
	}
	r = runBinary(t, nil, "portable", "--help")
	for _, want := range []string{"--password-file string", "[$PIER_PASSWORD]", "visible to every user of this machine in ps"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("portable --help lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestVersion: `version` and `--version` print the version and commit the build was given.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		r := runBinary(t, nil, args...)
		want := "pier-server " + testVersion + " (commit " + testCommit + ", go"
		if r.code != 0 || !strings.HasPrefix(r.stdout, want) || r.stderr != "" {
			t.Errorf("pier-server %v: exit %d, stdout %q, stderr %q; want exit 0 and %q...", args, r.code, r.stdout, r.stderr, want)
		}
	}
	// serve says which build it is before anything else, so that a failing pod's log names its build.
	r := runBinary(t, nil, "serve", "--config", filepath.Join(t.TempDir(), "missing.yaml"), "--log-format", "text")
	if r.code != 1 || !strings.Contains(r.stdout, "version="+testVersion) || !strings.Contains(r.stdout, "commit="+testCommit) {
		t.Errorf("serve with a missing config: exit %d, log %q; want exit 1 after a log line with the version and commit", r.code, r.stdout)
	}
}

func TestResolveBuild(t *testing.T) {
	tagged := &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"},
	}}
	for _, tc := range []struct {
		name              string
		xVersion, xCommit string
		info              *debug.BuildInfo
		want              build
	}{
		{"linker flags win", "0.1.0", "f00d", vcs, build{"0.1.0", "f00d"}},
		{"go install of a tag", "", "", tagged, build{"v0.3.0", "unknown"}},
		{"a build in a changed checkout", "", "", vcs, build{"dev", "abc123-dirty"}},
		{"-buildvcs=false and no flags", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, build{"dev", "unknown"}},
		{"no build information", "", "", nil, build{"dev", "unknown"}},
	} {
		if got := resolveBuild(tc.xVersion, tc.xCommit, tc.info); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestUsageErrors: a wrong command line or PIER_* variable exits 2 with a message naming what to fix, and
// nothing on stdout.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{nil, nil, []string{"no command", "pier-server --help"}},
		{[]string{"bogus"}, nil, []string{`unknown command "bogus"`}},
		{[]string{"help", "bogus"}, nil, []string{`no help for "bogus"`, "Run 'pier-server --help'"}},
		{[]string{"serve", "--bogus"}, nil, []string{"unknown flag: --bogus", "pier-server serve --help"}},
		{[]string{"serve", "config.yaml"}, nil, []string{`takes no arguments, only flags; got "config.yaml"`}},
		{[]string{"serve"}, nil, []string{"serve needs --config FILE (or PIER_CONFIG)"}},
		{[]string{"serve", "--config", "c.yaml", "--config-secret-namespace", "web"}, nil,
			[]string{"--config-secret-namespace needs --config-secret NAME"}},
		{[]string{"serve", "--config", "c.yaml", "--log-level", "loud"}, nil, []string{`"--log-level"`, "debug, info, warn or error"}},
		{[]string{"serve", "--config", "c.yaml"}, map[string]string{"PIER_LOG_LEVEL": "loud"},
			[]string{"PIER_LOG_LEVEL", `"loud"`, "debug, info, warn or error"}},
		{[]string{"serve", "--config", "c.yaml"}, map[string]string{"PIER_LOG_FORMAT": "xml"}, []string{"PIER_LOG_FORMAT", "json or text"}},
		{[]string{"portable", "--root", dir}, map[string]string{"PIER_SFTP_PORT": "twenty-two"}, []string{"PIER_SFTP_PORT", `"twenty-two"`}},
		{[]string{"portable", "--root", dir}, map[string]string{"PIER_PASSIVE_PORTS": "30000"}, []string{"PIER_PASSIVE_PORTS", "A-B"}},
		{[]string{"portable"}, nil, []string{"portable needs --root DIR (or PIER_ROOT)"}},
		{[]string{"portable", "--root", dir, "--password", "a", "--password-file", "f"}, nil,
			[]string{"--password and --password-file cannot be used together"}},
		{[]string{"portable", "--root", dir}, map[string]string{"PIER_PASSWORD": "a", "PIER_PASSWORD_FILE": "f"},
			[]string{"PIER_PASSWORD and PIER_PASSWORD_FILE cannot be used together"}},
	} {
		r := runInProcess(context.Background(), tc.env, tc.args...)
		if r.code != 2 || r.stdout != "" {
			t.Errorf("%v %v: exit %d, stdout %q, stderr %q; want exit 2 and nothing on stdout", tc.env, tc.args, r.code, r.stdout, r.stderr)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%v %v: stderr %q lacks %q", tc.env, tc.args, r.stderr, want)
			}
		}
	}
	// The same through the binary: the exit status is the process's.
	if r := runBinary(t, nil, "serve", "--bogus"); r.code != 2 || !strings.Contains(r.stderr, "unknown flag: --bogus") {
		t.Errorf("pier-server serve --bogus: exit %d, stderr %q; want 2 and the flag named", r.code, r.stderr)
	}
	if r := runBinary(t, nil, "bogus"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "bogus"`) {
		t.Errorf("pier-server bogus: exit %d, stderr %q; want 2 and the command named", r.code, r.stderr)
	}
	missing := filepath.Join(dir, "missing.yaml")
	if r := runBinary(t, []string{"PIER_LOG_LEVEL=loud"}, "serve", "--config", missing); r.code != 2 || !strings.Contains(r.stderr, "PIER_LOG_LEVEL") {
		t.Errorf("PIER_LOG_LEVEL=loud pier-server serve: exit %d, stderr %q; want 2 and the variable named", r.code, r.stderr)
	}
	// The flag wins, so the bad variable is never read: serve gets as far as the missing file.
	r := runBinary(t, []string{"PIER_LOG_LEVEL=loud"}, "serve", "--config", missing, "--log-level", "debug")
	if r.code != 1 || !strings.Contains(r.stderr, missing) || strings.Contains(r.stderr, "PIER_LOG_LEVEL") {
		t.Errorf("PIER_LOG_LEVEL=loud pier-server serve --log-level debug: exit %d, stderr %q; want 1 for the missing file", r.code, r.stderr)
	}
}

// TestApplyEnv: a variable fills its flag; a flag on the command line wins, also over the variable of an
// alternative flag; an empty variable is unset.
func TestApplyEnv(t *testing.T) {
	newFlags := func() (*pflag.FlagSet, *string, *int, *levelValue, *string, *string) {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		config := fs.String("config", "", "")
		port := fs.Int("sftp-port", 2222, "")
		var level levelValue
		fs.Var(&level, "log-level", "")
		password := fs.String("password", "", "")
		passwordFile := fs.String("password-file", "", "")
		return fs, config, port, &level, password, passwordFile
	}
	env := map[string]string{
		"PIER_CONFIG": "/from/env.yaml", "PIER_SFTP_PORT": "2022", "PIER_LOG_LEVEL": "debug",
		"PIER_PASSWORD": "from-env", "PIER_PASSWORD_FILE": "",
	}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }

	fs, config, port, level, password, passwordFile := newFlags()
	if err := fs.Parse([]string{"--sftp-port", "3022"}); err != nil {
		t.Fatal(err)
	}
	fromEnv, err := applyEnv(fs, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if *config != "/from/env.yaml" || *port != 3022 || level.String() != "debug" || *password != "from-env" || *passwordFile != "" {
		t.Errorf("config %q, port %d, level %s, password %q, file %q; want the variables except the port given as a flag",
			*config, *port, level, *password, *passwordFile)
	}
	want := map[string]string{"config": "PIER_CONFIG", "log-level": "PIER_LOG_LEVEL", "password": "PIER_PASSWORD"}
	if fmt.Sprint(fromEnv) != fmt.Sprint(want) {
		t.Errorf("fromEnv %v, want %v", fromEnv, want)
	}

	// --password-file on the command line: PIER_PASSWORD is its alternative and is not read.
	fs, _, _, _, password, passwordFile = newFlags()
	if err := fs.Parse([]string{"--password-file", "/pw"}); err != nil {
		t.Fatal(err)
	}
	if _, err := applyEnv(fs, lookup); err != nil || *password != "" || *passwordFile != "/pw" {
		t.Errorf("--password-file with PIER_PASSWORD set: password %q, file %q, %v; want the file only", *password, *passwordFile, err)
	}

	// A malformed variable is a usage error naming it.
	env["PIER_SFTP_PORT"] = "22x"
	fs, _, _, _, _, _ = newFlags()
	_, err = applyEnv(fs, lookup)
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "PIER_SFTP_PORT") {
		t.Errorf("PIER_SFTP_PORT=22x: %v, want a usage error naming the variable", err)
	}
}

// TestLongFlagsWithOneDash: command lines written for the old Go flag parsing (-config FILE) keep working.
func TestLongFlagsWithOneDash(t *testing.T) {
	var stderr bytes.Buffer
	c := &cli{stdout: &bytes.Buffer{}, stderr: &stderr}
	root := c.rootCommand()
	for _, tc := range []struct{ in, want []string }{
		{[]string{"serve", "-config", "c.yaml", "-log-format=text"}, []string{"serve", "--config", "c.yaml", "--log-format=text"}},
		{[]string{"serve", "--config", "-config"}, []string{"serve", "--config", "-config"}},
		{[]string{"portable", "-password", "-root", "-root", "/srv"}, []string{"portable", "--password", "-root", "--root", "/srv"}},
		{[]string{"serve", "-h"}, []string{"serve", "-h"}},
		{[]string{"serve", "-help"}, []string{"serve", "--help"}},
		{[]string{"serve", "--", "-config"}, []string{"serve", "--", "-config"}},
		{[]string{"-config"}, []string{"-config"}},
	} {
		if got := longFlagsWithOneDash(root, tc.in, &stderr); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q became %q, want %q", tc.in, got, tc.want)
		}
	}
	if strings.Contains(stderr.String(), "/srv") || !strings.Contains(stderr.String(), "reading -config as --config") {
		t.Errorf("notes %q: want the flag's name and never its value", stderr.String())
	}
}

// TestDocListsEveryFlag: docs/pier-server.md has a row for every flag of every command, with its variable.
func TestDocListsEveryFlag(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "pier-server.md"))
	if err != nil {
		t.Fatal(err)
	}
	c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	for _, cmd := range c.rootCommand().Commands() {
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			row := regexp.MustCompile("(?m)^\\| `--" + regexp.QuoteMeta(f.Name) + "[ `].*\\| `" + envName(f.Name) + "` \\|")
			if !row.Match(doc) {
				t.Errorf("docs/pier-server.md has no row for %s --%s with %s", cmd.Name(), f.Name, envName(f.Name))
			}
		})
	}
}
