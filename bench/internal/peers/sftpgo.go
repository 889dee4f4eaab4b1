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
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// SFTPGo runs SFTPGo's portable mode (one user, in-memory provider) with SFTP and FTP on 127.0.0.1 high ports,
// the same host key, certificate, user, password and key as the others. Explicit FTPS is optional on its FTP
// listener (its default) and its TLS session reuse is required, as pier's is.
type SFTPGo struct{ env *Env }

// NewSFTPGo needs the binary hack/build-sftpgo.sh built.
func NewSFTPGo(env *Env) (*SFTPGo, error) {
	if env.SFTPGo == "" {
		return nil, errors.New("no SFTPGo binary: make bench builds one with hack/build-sftpgo.sh, which failed or was not run")
	}
	return &SFTPGo{env: env}, nil
}

// Start serves root on new ports.
func (g *SFTPGo) Start(ctx context.Context, root string) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	passive, err := FreePortRange(20)
	if err != nil {
		return nil, err
	}
	configDir := filepath.Join(g.env.Dir, "sftpgo")
	if err := os.MkdirAll(configDir, 0o700); err != nil {
		return nil, err
	}
	s := &Server{Name: NameSFTPGo, SFTP: localAddr(ports[0]), FTP: localAddr(ports[1]), Root: root}
	cmd := exec.CommandContext(ctx, g.env.SFTPGo, "portable", "--config-dir", configDir,
		"--directory", root, "--username", UserName, "--password", g.env.Password, "--public-key", g.env.AuthorizedKey,
		"--permissions", "*", "--sftpd-port", strconv.Itoa(ports[0]), "--ftpd-port", strconv.Itoa(ports[1]),
		"--ftpd-cert", g.env.CertFile, "--ftpd-key", g.env.KeyFile, "--log-file-path", "", "--log-level", "error")
	cmd.Env = append(os.Environ(),
		"SFTPGO_SFTPD__BINDINGS__0__ADDRESS=127.0.0.1",
		"SFTPGO_FTPD__BINDINGS__0__ADDRESS=127.0.0.1",
		"SFTPGO_FTPD__BINDINGS__0__TLS_SESSION_REUSE=1",
		"SFTPGO_SFTPD__HOST_KEYS="+g.env.HostKey,
		"SFTPGO_FTPD__PASSIVE_PORT_RANGE__START="+strconv.Itoa(passive),
		"SFTPGO_FTPD__PASSIVE_PORT_RANGE__END="+strconv.Itoa(passive+19),
		// Portable mode admits 20 connections per address otherwise: the idle-session cell opens 200.
		"SFTPGO_COMMON__MAX_PER_HOST_CONNECTIONS=0",
		"SFTPGO_COMMON__MAX_TOTAL_CONNECTIONS=0",
		"SFTPGO_TELEMETRY__BIND_PORT=0",
		"SFTPGO_HTTPD__BINDINGS__0__PORT=0",
	)
	return start(ctx, s, cmd, filepath.Join(g.env.Dir, "sftpgo.log"))
}
