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

// Command pier-server serves SFTP and FTP/FTPS. `serve --config FILE` runs from a configuration file (what the
// operator's pods do, and how to run it in Docker), optionally following the config Secret through the
// Kubernetes API too; `portable --root DIR` serves a local directory at once; `version` says which build this is.
// Every flag can also be set as a PIER_* environment variable (env.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

const rootHelp = `pier-server serves SFTP, FTP and FTPS.

  pier-server serve --config FILE        run from a configuration file (docs/server-config.md)
      [--config-secret NAME]             and follow Secret NAME's config.yaml through the Kubernetes API
  pier-server portable --root DIR        serve DIR on 127.0.0.1 right now, with generated keys and a user
  pier-server version                    the version and commit of this build
  pier-server help COMMAND               the command's flags

Every flag can also be set as an environment variable: PIER_ and the flag's name in upper case with _ for -,
such as PIER_CONFIG for --config and PIER_LOG_LEVEL for --log-level. A flag on the command line wins over its
variable.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status: 0, 1 when the command failed, 2 when the command
// line (or a PIER_* variable) is wrong.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	c := &cli{lookupEnv: lookupEnv, stdout: stdout, stderr: stderr}
	cmd, err := c.execute(ctx, args)
	if err == nil {
		return 0
	}
	if errors.As(err, new(usageError)) {
		if cmd.Name() == "help" {
			cmd = cmd.Root() // "help --help" helps nobody who misspelt a command
		}
		_, _ = fmt.Fprintf(stderr, "pier-server: %v\nRun '%s --help' for usage.\n", err, cmd.CommandPath())
		return 2
	}
	_, _ = fmt.Fprintln(stderr, "pier-server:", err)
	return 1
}

// cli is one run of the command line: where it reads variables and writes output.
type cli struct {
	lookupEnv      func(string) (string, bool)
	stdout, stderr io.Writer
	// fromEnv maps each flag set from a variable to the variable's name.
	fromEnv map[string]string
}

// execute runs the command line and returns the command it ran, for the error message.
func (c *cli) execute(ctx context.Context, args []string) (*cobra.Command, error) {
	root := c.rootCommand()
	root.SetArgs(longFlagsWithOneDash(root, args, c.stderr))
	return root.ExecuteContextC(ctx)
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:     "pier-server",
		Short:   "pier-server serves SFTP, FTP and FTPS",
		Long:    rootHelp,
		Version: currentBuild().String(),
		// run prints errors itself, and the usage only when asked: after a failed start it would hide the error.
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q: want serve, portable or version", args[0])
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error {
			return usageErrorf("no command: want serve, portable or version")
		},
		// Runs before every command, after its flags are parsed: the variables fill in what they left unset.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			fromEnv, err := applyEnv(cmd.Flags(), c.lookupEnv)
			c.fromEnv = fromEnv
			return err
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetHelpCommand(helpCommand(root))
	root.AddCommand(c.serveCommand(), c.portableCommand(), c.versionCommand())
	return root
}

// helpCommand replaces cobra's, which answers `help bogus` with the general help and exit status 0: a typo
// there is as much a usage error as anywhere else.
func helpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(_ *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return usageErrorf("no help for %q: want serve, portable or version", strings.Join(args, " "))
			}
			return target.Help()
		},
	}
}

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit of this build",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(c.stdout, currentBuild())
			return err
		},
	}
}

// noArgs refuses arguments: every command takes flags only.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, only flags; got %q", cmd.Name(), args[0])
	}
	return nil
}
