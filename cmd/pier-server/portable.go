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
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/app"
	"github.com/pier-dev/pier/server/portable"
)

// portableOptions are portable's flags.
type portableOptions struct {
	portable.Options
	passive  portRange
	infoFile string
	pprof    bool
	log      logOptions
}

func (c *cli) portableCommand() *cobra.Command {
	o := portableOptions{
		Options: portable.Options{Host: "127.0.0.1"},
		passive: portRange{serverconfig.PassivePortStart, serverconfig.PassivePortEnd},
	}
	cmd := &cobra.Command{
		Use:   "portable --root DIR",
		Short: "Serve a local folder on 127.0.0.1 right now, with generated keys and a user",
		Long: `Serve DIR over SFTP, explicit FTPS and implicit FTPS on 127.0.0.1, with a host key, a local CA and a
server certificate kept in --state-dir (so clients keep trusting them) and one user. Prints how to connect.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Only a password typed on the command line is visible to others; one from PIER_PASSWORD is not.
			onCommandLine := cmd.Flags().Changed("password") && c.fromEnv["password"] == ""
			return runPortable(cmd.Context(), o, onCommandLine, c.stdout, c.stderr)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Root, "root", "", "the directory to serve (required)")
	fs.StringVar(&o.StateDir, "state-dir", defaultStateDir(), "where keys, certificates and known_hosts are kept")
	fs.StringVar(&o.Username, "username", "pier", "the login name")
	fs.StringVar(&o.Password, "password", "",
		"the password; visible to every user of this machine in ps, so prefer --password-file or PIER_PASSWORD "+
			"(default: a random one, printed)")
	fs.StringVar(&o.PasswordFile, "password-file", "",
		"read the password from this file, which holds only the password (a final line break is ignored)")
	fs.StringVar(&o.AuthorizedKeysFile, "authorized-keys", "", "an authorized_keys file for SFTP key logins")
	// The ports pier-server listens on in the operator's pods.
	fs.IntVar(&o.SFTPPort, "sftp-port", serverconfig.SFTPPort, "SFTP port")
	fs.IntVar(&o.FTPPort, "ftp-port", serverconfig.FTPPort, "FTP port (explicit FTPS, TLS required)")
	fs.IntVar(&o.FTPSPort, "ftps-port", serverconfig.ImplicitFTPSPort, "implicit FTPS port (0 turns it off)")
	fs.Var(&o.passive, "passive-ports", "FTP passive port range A-B")
	fs.IntVar(&o.HealthPort, "health-port", serverconfig.HealthPort, "port of /healthz, /readyz and /metrics")
	fs.StringVar(&o.infoFile, "info-file", "", "write SFTP_PORT=... shell lines here once every listener is ready")
	addPprofFlag(fs, &o.pprof)
	o.log.addFlags(fs)
	documentEnv(fs)
	return cmd
}

// runPortable serves until ctx ends; its log goes to stderr, as stdout tells the user how to connect.
func runPortable(ctx context.Context, o portableOptions, passwordOnCommandLine bool, stdout, stderr io.Writer) error {
	if o.Root == "" {
		return usageErrorf("portable needs --root DIR (or %s)", envName("root"))
	}
	o.PassiveStart, o.PassiveEnd = o.passive.start, o.passive.end
	log := o.log.logger(stderr)
	b := currentBuild()
	log.Info("pier-server starting", "version", b.Version, "commit", b.Commit)
	if passwordOnCommandLine {
		log.Warn("--password is visible to every user of this machine (ps, /proc/PID/cmdline); " +
			"use --password-file or PIER_PASSWORD")
	}
	prepared, err := portable.Prepare(o.Options)
	if err != nil {
		return err
	}
	server, err := app.New(prepared.Config, log)
	if err != nil {
		return err
	}
	server.SetBuild(b.Version, b.Commit)
	enableProfiling(server, o.pprof, log)
	return server.Run(ctx, func() {
		_, _ = fmt.Fprint(stdout, howToConnect(o.Options, prepared))
		if o.infoFile != "" {
			if err := writeAtomically(o.infoFile, portableInfo(o.Options, prepared)); err != nil {
				log.Error("writing the info file", "error", err)
			}
		}
	})
}

func defaultStateDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "pier", "portable")
	}
	return ".pier-portable"
}

// portableInfo is the --info-file content: shell lines a script can source.
func portableInfo(opts portable.Options, p *portable.Prepared) string {
	lines := []string{
		fmt.Sprintf("SFTP_PORT=%d", opts.SFTPPort),
		fmt.Sprintf("FTP_PORT=%d", opts.FTPPort),
		fmt.Sprintf("FTPS_PORT=%d", opts.FTPSPort),
		fmt.Sprintf("PASSIVE_PORTS=%d-%d", opts.PassiveStart, opts.PassiveEnd),
		"USERNAME=" + shellQuote(opts.Username),
		"PASSWORD=" + shellQuote(p.Password),
		"CA_FILE=" + shellQuote(p.CAFile),
		"KNOWN_HOSTS_FILE=" + shellQuote(p.KnownHostsFile),
		"ROOT=" + shellQuote(p.Config.Storage.Root),
	}
	return strings.Join(lines, "\n") + "\n"
}

// howToConnect is what portable prints once it serves. It shows a generated password, never a chosen one: that
// one the user knows, and may be keeping out of terminals and logs on purpose.
func howToConnect(opts portable.Options, p *portable.Prepared) string {
	password := "(the one you gave, not shown)"
	if p.PasswordGenerated {
		password = p.Password
	}
	return fmt.Sprintf(`pier-server is serving %s
  user:     %s
  password: %s
  SFTP:     sftp -P %d -o UserKnownHostsFile=%s %s@127.0.0.1
  FTPS:     curl --ssl-reqd --cacert %s --user %s:PASSWORD ftp://127.0.0.1:%d/
  implicit: curl --cacert %s --user %s:PASSWORD ftps://127.0.0.1:%d/
  lftp:     lftp -e 'set ssl:ca-file %s; set ftp:ssl-force true' -u %s -p %d 127.0.0.1
Press Ctrl-C to stop.
`, p.Config.Storage.Root, opts.Username, password,
		opts.SFTPPort, p.KnownHostsFile, opts.Username,
		p.CAFile, opts.Username, opts.FTPPort,
		p.CAFile, opts.Username, opts.FTPSPort,
		p.CAFile, opts.Username, opts.FTPPort)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func writeAtomically(file, content string) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
