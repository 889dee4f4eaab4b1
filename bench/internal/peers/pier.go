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

package peers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pier-dev/pier/internal/credentials"
)

// Pier runs pier-server serve --config with its profiles on (--pprof), serving SFTP and FTP on root. FTP has TLS
// Optional, so that one listener serves both plain FTP and explicit FTPS (PROT P), as vsftpd and SFTPGo do here.
// Everything else is pier-server's default (bcrypt password, TLS session reuse required on data connections) but
// for maxLoginFailures 0: the new-login cell polls until a new user is let in, and must not ban 127.0.0.1 for it
// (sshd and SFTPGo's portable mode do not ban either).
type Pier struct {
	env    *Env
	name   string
	binary string
	config string // the config file, a link through ..data as in a mounted Secret, rewritten by AddUser
	writes int    // how many copies of the config writeConfig made
	body   string // the config without the extra users
	users  []string
	hash   string
}

// NewPier prepares the configuration of the pier-server binary, which the results call name (NamePier, or
// report.Baseline for an older build measured beside it); Start starts it.
func NewPier(env *Env, name, binary string) (*Pier, error) {
	hash, err := credentials.Hash([]byte(env.Password))
	if err != nil {
		return nil, err
	}
	return &Pier{env: env, name: name, binary: binary, config: filepath.Join(env.Dir, name+"-config", "pier.yaml"), hash: hash}, nil
}

// Start serves root on new ports.
func (p *Pier) Start(ctx context.Context, root string) (*Server, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	passive, err := FreePortRange(20)
	if err != nil {
		return nil, err
	}
	s := &Server{Name: p.name, SFTP: localAddr(ports[0]), FTP: localAddr(ports[1]), Health: localAddr(ports[2]), Root: root}
	p.body = fmt.Sprintf(`apiVersion: server.pier.dev/v1alpha1
kind: ServerConfig
sftp:
  address: %q
  hostKeyFiles: [%q]
  authMethods: [password, publickey]
ftp:
  address: %q
  tls:
    mode: Optional
    certFile: %q
    keyFile: %q
  passive:
    portRange: {start: %d, end: %d}
health:
  address: %q
storage:
  root: %q
limits:
  maxLoginFailures: 0
  shutdownGracePeriod: 2s
users:
- username: %q
  passwordHash: %q
  authorizedKeys: [%q]
  homeDirectory: /
`, s.SFTP, p.env.HostKey, s.FTP, p.env.CertFile, p.env.KeyFile, passive, passive+19, s.Health, root,
		UserName, p.hash, p.env.AuthorizedKey)
	p.users = nil
	if err := p.writeConfig(); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, p.binary, "serve", "--config", p.config, "--pprof", "--log-format", "json")
	return start(ctx, s, cmd, filepath.Join(p.env.Dir, p.name+".log"))
}

// AddUser adds a user with key authorizedKey to the running server's configuration file as a new user lands in a
// mounted Secret (writeConfig). pier-server picks it up without a restart.
func (p *Pier) AddUser(name, authorizedKey string) error {
	p.users = append(p.users, fmt.Sprintf("- username: %q\n  authorizedKeys: [%q]\n  homeDirectory: /\n", name, authorizedKey))
	return p.writeConfig()
}

// writeConfig writes the configuration as the kubelet updates a mounted Secret: the file into a new folder, a
// ..data_tmp link to that folder renamed over ..data, the file itself a link through ..data.
func (p *Pier) writeConfig() error {
	dir, name := filepath.Dir(p.config), filepath.Base(p.config)
	p.writes++
	copyDir := fmt.Sprintf("..copy-%d", p.writes)
	if err := os.MkdirAll(filepath.Join(dir, copyDir), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, copyDir, name), []byte(p.body+strings.Join(p.users, "")), 0o600); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp) // left by an interrupted write, if any
	if err := os.Symlink(copyDir, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		return err
	}
	if _, err := os.Lstat(p.config); os.IsNotExist(err) {
		if err := os.Symlink(filepath.Join("..data", name), p.config); err != nil {
			return err
		}
	}
	if p.writes > 1 {
		return os.RemoveAll(filepath.Join(dir, fmt.Sprintf("..copy-%d", p.writes-1)))
	}
	return nil
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	seen := map[int]bool{}
	for len(ports) < n {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports, nil
}
