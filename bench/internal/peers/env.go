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
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/pki"
)

// UserName is the login every server gets. OpenSSH and vsftpd log in system users only, so the bench creates
// this one (a locked system account without a home) and gives it a random password for the run.
const UserName = "pier-bench"

// Env is what every server of a run shares: the user and its credentials, the SSH host key, the TLS certificate,
// and where the programs are.
type Env struct {
	Dir      string // configurations, keys and logs of this run
	Password string
	UID, GID int
	// ClientKey is the user's private key file (for sftp -i), Signer the same key for Go clients.
	ClientKey string
	Signer    ssh.Signer
	// AuthorizedKey is the user's public key as an authorized_keys line.
	AuthorizedKey string
	HostKey       string // an ed25519 host key file, OpenSSH format, served by every SSH server
	CertFile      string // the FTPS server certificate (PEM) for 127.0.0.1, served by every FTP server
	KeyFile       string
	CAFile        string // what curl verifies CertFile with
	SFTPGo        string // the SFTPGo binary; "" when it did not build
	systemUser    bool   // the system user was set up, and Close locks it
}

// NewEnv creates dir's keys and certificate, and with systemUser (for sshd and vsftpd) the system user with a
// new random password.
func NewEnv(dir, sftpgo string, systemUser bool) (*Env, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, SFTPGo: sftpgo}
	var err error
	if e.Password, err = credentials.GeneratePassword(); err != nil {
		return nil, err
	}
	if err := e.writeSSHKeys(); err != nil {
		return nil, err
	}
	if err := e.writeCertificate(); err != nil {
		return nil, err
	}
	if systemUser {
		if err := e.ensureUser(); err != nil {
			return nil, err
		}
		e.systemUser = true
	}
	return e, nil
}

func (e *Env) writeSSHKeys() error {
	e.HostKey = filepath.Join(e.Dir, "ssh_host_ed25519_key")
	if _, err := credentials.EnsureKeyFile(e.HostKey, "pier bench host key"); err != nil {
		return err
	}
	e.ClientKey = filepath.Join(e.Dir, "id_ed25519")
	signer, err := credentials.EnsureKeyFile(e.ClientKey, "pier bench client key")
	if err != nil {
		return err
	}
	e.Signer = signer
	e.AuthorizedKey = credentials.PublicKeyLine(signer.PublicKey())
	return nil
}

// writeCertificate writes a CA and a server certificate for 127.0.0.1 (ECDSA P-256, as the operator issues them).
func (e *Env) writeCertificate() error {
	now := time.Now()
	ca, err := pki.SelfSign(pki.CATemplate(pkix.Name{CommonName: "pier bench CA"}, now.Add(-time.Hour), now.Add(48*time.Hour)))
	if err != nil {
		return err
	}
	server, err := ca.IssueServer([]string{"127.0.0.1"}, 48*time.Hour)
	if err != nil {
		return err
	}
	key, err := x509.MarshalPKCS8PrivateKey(server.Key)
	if err != nil {
		return fmt.Errorf("encoding the server key: %w", err)
	}
	e.CAFile = filepath.Join(e.Dir, "ca.pem")
	e.CertFile = filepath.Join(e.Dir, "server.pem")
	e.KeyFile = filepath.Join(e.Dir, "server-key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Cert.Raw})
	return errors.Join(
		os.WriteFile(e.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644),
		os.WriteFile(e.CertFile, certPEM, 0o644),
		os.WriteFile(e.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600))
}

// ensureUser creates the system user when it is missing and sets its password for this run.
func (e *Env) ensureUser() error {
	if _, err := user.Lookup(UserName); err != nil {
		// Home /: vsftpd changes into the home folder before local_root, so it must exist, and the user owns
		// nothing there (sftp-server and vsftpd are pointed at the served folder). A shell in /etc/shells, as
		// vsftpd's PAM configuration (pam_shells) wants.
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/",
			"--shell", "/bin/sh", "--comment", "pier make bench (locked between runs)", UserName).CombinedOutput()
		if err != nil {
			return fmt.Errorf("creating the system user %s (make bench runs as root): %w: %s", UserName, err, out)
		}
	}
	u, err := user.Lookup(UserName)
	if err != nil {
		return err
	}
	e.UID, _ = strconv.Atoi(u.Uid)
	e.GID, _ = strconv.Atoi(u.Gid)
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(UserName + ":" + e.Password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("setting the password of %s: %w: %s", UserName, err, out)
	}
	return nil
}

// Close locks the system user's password again, so that the account logs in nowhere between runs.
func (e *Env) Close() error {
	if !e.systemUser {
		return nil
	}
	if out, err := exec.Command("usermod", "--lock", UserName).CombinedOutput(); err != nil {
		return fmt.Errorf("locking %s: %w: %s", UserName, err, out)
	}
	return nil
}

// PrepareRoot creates a folder for a server to serve, owned by the bench user when there is one, since
// sftp-server and vsftpd write as that user.
func (e *Env) PrepareRoot(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !e.systemUser {
		return nil
	}
	return os.Chown(dir, e.UID, e.GID)
}
