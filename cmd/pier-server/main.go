/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command pier-server serves SFTP and FTP/FTPS. `serve --config FILE` runs from a configuration file (what the
// operator's pods do, and how to run it in Docker), optionally following the config Secret through the
// Kubernetes API too; `portable --root DIR` serves a local directory at once.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pier-dev/pier/server/app"
	"github.com/pier-dev/pier/server/config"
	"github.com/pier-dev/pier/server/portable"
)

const usage = `pier-server serves SFTP, FTP and FTPS.

Usage:
  pier-server serve --config FILE        run from a configuration file (docs/server-config.md)
      [--config-secret NAME]             and follow Secret NAME's config.yaml through the Kubernetes API
  pier-server portable --root DIR        serve DIR on 127.0.0.1 right now, with generated keys and a user
  pier-server <command> --help           the command's flags
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:])
	case "portable":
		err = runPortable(ctx, os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pier-server:", err)
		os.Exit(1)
	}
}

// logFlags adds --log-format and --log-level to fs and returns a function building the logger.
func logFlags(fs *flag.FlagSet) func(io.Writer) (*slog.Logger, error) {
	format := fs.String("log-format", "json", "log format: json or text")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	return func(w io.Writer) (*slog.Logger, error) {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(*level)); err != nil {
			return nil, fmt.Errorf("--log-level: %w", err)
		}
		opts := &slog.HandlerOptions{Level: lvl}
		switch *format {
		case "json":
			return slog.New(slog.NewJSONHandler(w, opts)), nil
		case "text":
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return nil, fmt.Errorf("--log-format must be json or text, not %q", *format)
	}
}

func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configFile := fs.String("config", "", "the configuration file (required)")
	configSecret := fs.String("config-secret", "",
		"also follow this Secret's config.yaml through the Kubernetes API, so that changes apply without waiting "+
			"for the kubelet to refresh the file (default: the file only, no Kubernetes)")
	configSecretNamespace := fs.String("config-secret-namespace", "",
		"the namespace of --config-secret (default: $POD_NAMESPACE, else the pod's ServiceAccount namespace)")
	newLogger := logFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *configFile == "" {
		return fmt.Errorf("serve needs --config FILE")
	}
	var namespace string
	if *configSecret != "" {
		ns, err := secretNamespace(*configSecretNamespace)
		if err != nil {
			return fmt.Errorf("--config-secret %s: %w", *configSecret, err)
		}
		namespace = ns
	} else if *configSecretNamespace != "" {
		return fmt.Errorf("--config-secret-namespace needs --config-secret NAME")
	}
	log, err := newLogger(os.Stdout)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(*configFile)
	if err != nil {
		return err
	}
	cfg, err := config.Parse(data)
	if err != nil {
		return fmt.Errorf("%s:\n%w", *configFile, err)
	}
	server, err := app.New(cfg, log)
	if err != nil {
		return err
	}
	go server.WatchConfig(ctx, *configFile, data, app.DefaultReloadInterval)
	if *configSecret != "" {
		// The file is always there, so an unusable Kubernetes client is not fatal: the server runs from the
		// file, as it would while the API server is unreachable.
		client, err := kubeClient()
		if err != nil {
			log.Error("cannot watch the config Secret through the Kubernetes API; following the configuration file only",
				"secret", namespace+"/"+*configSecret, "error", err)
		} else {
			// Not waited for: the server starts from the file and the watch takes over once it has synced.
			go server.WatchConfigSecret(ctx, client, namespace, *configSecret)
		}
	}
	return server.Run(ctx, nil)
}

func runPortable(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("portable", flag.ContinueOnError)
	opts := portable.Options{Host: "127.0.0.1"}
	fs.StringVar(&opts.Root, "root", "", "the directory to serve (required)")
	fs.StringVar(&opts.StateDir, "state-dir", defaultStateDir(), "where keys, certificates and known_hosts are kept")
	fs.StringVar(&opts.Username, "username", "pier", "the login name")
	fs.StringVar(&opts.Password, "password", "", "the password (default: a random one, printed)")
	fs.StringVar(&opts.AuthorizedKeysFile, "authorized-keys", "", "an authorized_keys file for SFTP key logins")
	fs.IntVar(&opts.SFTPPort, "sftp-port", 2222, "SFTP port")
	fs.IntVar(&opts.FTPPort, "ftp-port", 2121, "FTP port (explicit FTPS, TLS required)")
	fs.IntVar(&opts.FTPSPort, "ftps-port", 9990, "implicit FTPS port (0 turns it off)")
	passive := fs.String("passive-ports", "30000-30019", "FTP passive port range A-B")
	fs.IntVar(&opts.HealthPort, "health-port", 9080, "port of /healthz, /readyz and /metrics")
	infoFile := fs.String("info-file", "", "write SFTP_PORT=... shell lines here once every listener is ready")
	newLogger := logFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if opts.Root == "" {
		return fmt.Errorf("portable needs --root DIR")
	}
	if _, err := fmt.Sscanf(*passive, "%d-%d", &opts.PassiveStart, &opts.PassiveEnd); err != nil {
		return fmt.Errorf("--passive-ports %q: want A-B such as 30000-30019", *passive)
	}
	log, err := newLogger(os.Stderr)
	if err != nil {
		return err
	}
	prepared, err := portable.Prepare(opts)
	if err != nil {
		return err
	}
	server, err := app.New(prepared.Config, log)
	if err != nil {
		return err
	}
	return server.Run(ctx, func() {
		info := portableInfo(opts, prepared)
		fmt.Print(howToConnect(opts, prepared))
		if *infoFile != "" {
			if err := writeAtomically(*infoFile, info); err != nil {
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

func howToConnect(opts portable.Options, p *portable.Prepared) string {
	return fmt.Sprintf(`pier-server is serving %s
  user:     %s
  password: %s
  SFTP:     sftp -P %d -o UserKnownHostsFile=%s %s@127.0.0.1
  FTPS:     curl --ssl-reqd --cacert %s --user %s:PASSWORD ftp://127.0.0.1:%d/
  implicit: curl --cacert %s --user %s:PASSWORD ftps://127.0.0.1:%d/
  lftp:     lftp -e 'set ssl:ca-file %s; set ftp:ssl-force true' -u %s -p %d 127.0.0.1
Press Ctrl-C to stop.
`, p.Config.Storage.Root, opts.Username, p.Password,
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
