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
)

// The programs of Debian's openssh-server and vsftpd (hack/install-bench-peers.sh installs them).
const (
	sshdPath       = "/usr/sbin/sshd"
	sftpServerPath = "/usr/lib/openssh/sftp-server"
	vsftpdPath     = "/usr/sbin/vsftpd"
)

// OpenSSH runs a private sshd (its own config, host key and port, in the foreground) whose sftp subsystem is
// sftp-server, started in the served folder; the user logs in with its key. sshd forks per connection (a
// privilege-separated monitor, the user's process and sftp-server), so its figures are of the whole tree.
type OpenSSH struct {
	env            *Env
	authorizedKeys string
}

// NewOpenSSH checks that sshd and sftp-server are installed.
func NewOpenSSH(env *Env) (*OpenSSH, error) {
	for _, p := range []string{sshdPath, sftpServerPath} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s is missing: run hack/install-bench-peers.sh: %w", p, err)
		}
	}
	return &OpenSSH{env: env, authorizedKeys: filepath.Join(env.Dir, "openssh_authorized_keys")}, nil
}

// Start serves root on a new port.
func (o *OpenSSH) Start(ctx context.Context, root string) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	if err := o.SetAuthorizedKeys(o.env.AuthorizedKey); err != nil {
		return nil, err
	}
	// sshd refuses to start without its privilege-separation folder, which the package's service unit creates.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, err
	}
	s := &Server{Name: NameOpenSSH, SFTP: localAddr(port), Root: root}
	// StrictModes no: the files live on tmpfs under /dev/shm or /tmp, world-writable folders sshd would refuse.
	// MaxStartups high: the idle-session cell opens 200 connections in a row.
	config := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile none
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers %s
PermitTTY no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
MaxStartups 1000
MaxSessions 10
LogLevel ERROR
Subsystem sftp %s -d %s
`, port, o.env.HostKey, o.authorizedKeys, UserName, sftpServerPath, root)
	file := filepath.Join(o.env.Dir, "sshd_config")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		return nil, err
	}
	// -D: in the foreground, so that the process the bench started is the listener; -e: log to stderr.
	cmd := exec.CommandContext(ctx, sshdPath, "-D", "-e", "-f", file)
	return start(ctx, s, cmd, filepath.Join(o.env.Dir, "sshd.log"))
}

// SetAuthorizedKeys replaces the user's authorized keys; sshd reads the file at each login.
func (o *OpenSSH) SetAuthorizedKeys(lines ...string) error {
	content := ""
	for _, l := range lines {
		content += l + "\n"
	}
	tmp := o.authorizedKeys + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, o.authorizedKeys)
}
