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

// Vsftpd runs a private vsftpd (standalone, in the foreground) on a high port: plain FTP and explicit FTPS on one
// listener, as pier is configured here, with the user's system password through Debian's PAM service.
type Vsftpd struct{ env *Env }

// NewVsftpd checks that vsftpd is installed.
func NewVsftpd(env *Env) (*Vsftpd, error) {
	if _, err := os.Stat(vsftpdPath); err != nil {
		return nil, fmt.Errorf("%s is missing: run hack/install-bench-peers.sh: %w", vsftpdPath, err)
	}
	return &Vsftpd{env: env}, nil
}

// Start serves root on new ports.
func (v *Vsftpd) Start(ctx context.Context, root string) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	passive, err := FreePortRange(20)
	if err != nil {
		return nil, err
	}
	// vsftpd's secure_chroot_dir must exist even when nobody is chrooted.
	empty := filepath.Join(v.env.Dir, "vsftpd-empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return nil, err
	}
	s := &Server{Name: NameVsftpd, FTP: localAddr(port), Root: root}
	// ssl_ciphers=HIGH: vsftpd's built-in default is DES-CBC3-SHA. require_ssl_reuse stays on, as pier's
	// requireSessionReuse does. seccomp_sandbox=NO: the sandbox's syscall list predates this OpenSSL.
	config := fmt.Sprintf(`listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=%d
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
local_root=%s
userlist_enable=NO
pam_service_name=vsftpd
secure_chroot_dir=%s
pasv_enable=YES
pasv_min_port=%d
pasv_max_port=%d
xferlog_enable=NO
dirmessage_enable=NO
use_localtime=NO
seccomp_sandbox=NO
max_clients=0
max_per_ip=0
ssl_enable=YES
allow_anon_ssl=NO
force_local_logins_ssl=NO
force_local_data_ssl=NO
require_ssl_reuse=YES
ssl_ciphers=HIGH
rsa_cert_file=%s
rsa_private_key_file=%s
`, port, root, empty, passive, passive+19, v.env.CertFile, v.env.KeyFile)
	file := filepath.Join(v.env.Dir, "vsftpd.conf")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, vsftpdPath, file)
	return start(ctx, s, cmd, filepath.Join(v.env.Dir, "vsftpd.log"))
}
