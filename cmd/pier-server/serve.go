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

	"github.com/spf13/cobra"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/app"
)

// serveOptions are serve's flags.
type serveOptions struct {
	configFile            string
	configSecret          string
	configSecretNamespace string
	pprof                 bool
	log                   logOptions
}

func (c *cli) serveCommand() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Serve from a configuration file, as the operator's pods do",
		Long: `Serve SFTP, FTP and FTPS as the configuration file says (docs/server-config.md), re-reading it when it
changes. With --config-secret, also follow that Secret's config.yaml through the Kubernetes API, so that user
changes apply without waiting for the kubelet to refresh the mounted file.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd.Context(), o, c.stdout) },
	}
	fs := cmd.Flags()
	fs.StringVar(&o.configFile, "config", "", "the configuration file (required)")
	fs.StringVar(&o.configSecret, "config-secret", "",
		"also follow this Secret's config.yaml through the Kubernetes API, so that changes apply without waiting "+
			"for the kubelet to refresh the file (default: the file only, no Kubernetes)")
	fs.StringVar(&o.configSecretNamespace, "config-secret-namespace", "",
		"the namespace of --config-secret (default: $POD_NAMESPACE, else the pod's ServiceAccount namespace)")
	addPprofFlag(fs, &o.pprof)
	o.log.addFlags(fs)
	documentEnv(fs)
	return cmd
}

// runServe runs the server until ctx ends; its log goes to stdout, where container runtimes collect it.
func runServe(ctx context.Context, o serveOptions, stdout io.Writer) error {
	if o.configFile == "" {
		return usageErrorf("serve needs --config FILE (or %s)", envName("config"))
	}
	var namespace string
	if o.configSecret != "" {
		ns, err := secretNamespace(o.configSecretNamespace)
		if err != nil {
			return fmt.Errorf("--config-secret %s: %w", o.configSecret, err)
		}
		namespace = ns
	} else if o.configSecretNamespace != "" {
		return usageErrorf("--config-secret-namespace needs --config-secret NAME")
	}
	log := o.log.logger(stdout)
	b := currentBuild()
	log.Info("pier-server starting", "version", b.Version, "commit", b.Commit)
	data, err := serverconfig.ReadFile(o.configFile)
	if err != nil {
		return err
	}
	cfg, err := serverconfig.Parse(data)
	if err != nil {
		return fmt.Errorf("%s:\n%w", o.configFile, err)
	}
	server, err := app.New(cfg, log)
	if err != nil {
		return err
	}
	server.SetBuild(b.Version, b.Commit)
	enableProfiling(server, o.pprof, log)
	go server.WatchConfig(ctx, o.configFile, data, app.DefaultReloadInterval)
	if o.configSecret != "" {
		// The file is always there, so an unusable Kubernetes client is not fatal: the server runs from the
		// file, as it would while the API server is unreachable.
		secrets, err := kubeSecrets(namespace)
		if err != nil {
			log.Error("cannot watch the config Secret through the Kubernetes API; following the configuration file only",
				"secret", namespace+"/"+o.configSecret, "error", err)
		} else {
			// Not waited for: the server starts from the file and the watch takes over once it has synced.
			go server.WatchConfigSecret(ctx, secrets, namespace, o.configSecret)
		}
	}
	return server.Run(ctx, nil)
}
