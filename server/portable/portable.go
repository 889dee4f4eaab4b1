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

// Package portable prepares everything `pier-server portable` needs to serve a local directory at once, like
// sftpgo's portable mode: an SSH host key, a local CA and server certificate for FTPS, one user and a complete
// server configuration listening on 127.0.0.1.
package portable

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// Options are the portable command's flags.
type Options struct {
	Root               string // directory to serve
	StateDir           string // keys, certificates and known_hosts; reused across runs so clients keep trusting them
	Username           string
	Password           string // empty: PasswordFile, else generate one
	PasswordFile       string // a file holding the password, so that it is not on the command line
	AuthorizedKeysFile string
	Host               string // listen host, 127.0.0.1
	SFTPPort           int
	FTPPort            int
	FTPSPort           int // implicit FTPS; 0 disables it
	PassiveStart       int
	PassiveEnd         int
	HealthPort         int
}

// Prepared is the result: the configuration to run and what to tell the user.
type Prepared struct {
	Config   *serverconfig.Config
	Password string
	// PasswordGenerated is true when the options gave no password: only then is the password shown, since one the
	// user chose is already known to them and may be kept out of the terminal on purpose.
	PasswordGenerated bool
	CAFile            string
	KnownHostsFile    string
}

// Prepare creates the state folder's keys and certificates (keeping existing valid ones) and builds the config.
func Prepare(opts Options) (*Prepared, error) {
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("--root %s is not a directory", opts.Root)
	}
	state, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, fmt.Errorf("creating the state folder: %w", err)
	}
	// The host key is kept across runs, so that clients' known_hosts entries stay true.
	hostKey := filepath.Join(state, "ssh_host_ed25519_key")
	hostSigner, err := credentials.EnsureKeyFile(hostKey, "pier portable host key")
	if err != nil {
		return nil, fmt.Errorf("the host key: %w", err)
	}
	knownHosts := filepath.Join(state, "known_hosts")
	line := fmt.Sprintf("[%s]:%d %s", opts.Host, opts.SFTPPort, credentials.PublicKeyLine(hostSigner.PublicKey()))
	if err := os.WriteFile(knownHosts, []byte(line), 0o600); err != nil {
		return nil, fmt.Errorf("writing known_hosts: %w", err)
	}
	certs, err := ensureCertificates(state, opts.Host)
	if err != nil {
		return nil, err
	}

	password, generated, err := choosePassword(opts)
	if err != nil {
		return nil, err
	}
	hash, err := credentials.Hash([]byte(password))
	if err != nil {
		return nil, err
	}
	user := serverconfig.User{Username: opts.Username, PasswordHash: hash, HomeDirectory: "/"}
	if opts.AuthorizedKeysFile != "" {
		keys, err := readAuthorizedKeys(opts.AuthorizedKeysFile)
		if err != nil {
			return nil, err
		}
		user.AuthorizedKeys = keys
	}

	addr := func(port int) string { return net.JoinHostPort(opts.Host, strconv.Itoa(port)) }
	cfg := &serverconfig.Config{
		APIVersion: serverconfig.APIVersion,
		Kind:       serverconfig.Kind,
		SFTP:       &serverconfig.SFTP{Address: addr(opts.SFTPPort), HostKeyFiles: []string{hostKey}},
		FTP: &serverconfig.FTP{
			Address: addr(opts.FTPPort),
			TLS:     serverconfig.TLS{Mode: serverconfig.TLSRequired, CertFile: certs.certFile, KeyFile: certs.keyFile},
			Passive: serverconfig.Passive{
				PortRange:       serverconfig.PortRange{Start: opts.PassiveStart, End: opts.PassiveEnd},
				PublicAddresses: []string{opts.Host},
			},
		},
		Health:  serverconfig.Health{Address: addr(opts.HealthPort)},
		Storage: serverconfig.Storage{Root: root},
		Users:   []serverconfig.User{user},
	}
	if opts.FTPSPort > 0 {
		cfg.FTP.ImplicitTLSAddress = addr(opts.FTPSPort)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("the options make an invalid configuration:\n%w", err)
	}
	return &Prepared{
		Config: cfg, Password: password, PasswordGenerated: generated, CAFile: certs.caFile, KnownHostsFile: knownHosts,
	}, nil
}

// choosePassword returns the password the options give, or a random one (generated true).
func choosePassword(opts Options) (password string, generated bool, err error) {
	switch {
	case opts.Password != "" && opts.PasswordFile != "":
		return "", false, errors.New("give a password or a password file, not both")
	case opts.Password != "":
		return opts.Password, false, nil
	case opts.PasswordFile != "":
		password, err := ReadPasswordFile(opts.PasswordFile)
		return password, false, err
	}
	password, err = credentials.GeneratePasswordOfLength(generatedPasswordLength)
	return password, true, err
}

// generatedPasswordLength is shorter than the operator's 32 characters because the user types it; about 140 bits
// of entropy all the same.
const generatedPasswordLength = 24

// Limits of ReadPasswordFile.
const (
	maxPasswordFileBytes = 4096
	passwordFileWait     = 10 * time.Second
)

// ReadPasswordFile reads a password kept in a file: its one line, without the line break that editors and
// `echo pw > file` add (the rest is the password, spaces included). An empty file, or one of several lines, is
// refused rather than guessed at: FTP cannot send a password with a line break, and a file of several lines is
// more likely the wrong file (a key, say) than a password.
//
// At most maxPasswordFileBytes are read, so pointing it at /dev/zero or a large file is an error, not an exhausted
// memory, and a pipe that gives nothing (a FIFO without a writer) is given up after passwordFileWait.
func ReadPasswordFile(file string) (string, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		f, err := os.Open(file)
		if err != nil {
			done <- result{nil, err}
			return
		}
		defer func() { _ = f.Close() }()
		data, err := io.ReadAll(io.LimitReader(f, maxPasswordFileBytes+1))
		done <- result{data, err}
	}()
	var data []byte
	select {
	case r := <-done:
		if r.err != nil {
			return "", fmt.Errorf("reading the password file: %w", r.err)
		}
		data = r.data
	case <-time.After(passwordFileWait):
		// The goroutine stays blocked in open or read; the program is about to exit with this error.
		return "", fmt.Errorf("reading the password file %s: nothing to read after %s (a pipe without a writer?)", file, passwordFileWait)
	}
	if len(data) > maxPasswordFileBytes {
		return "", fmt.Errorf("the password file %s is longer than %d bytes; it must hold only the password", file, maxPasswordFileBytes)
	}
	password := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	switch {
	case password == "":
		return "", fmt.Errorf("the password file %s is empty", file)
	case strings.ContainsAny(password, "\r\n"):
		return "", fmt.Errorf("the password file %s has more than one line; it must hold only the password", file)
	}
	return password, nil
}

// readAuthorizedKeys reads an authorized_keys file with the operator's rules (internal/credentials): a line with
// options is refused, because the server has no per-key options and would let the key in where they forbid it.
func readAuthorizedKeys(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--authorized-keys: %w", err)
	}
	keys, err := credentials.ParseAuthorizedKeys(data)
	if err != nil {
		return nil, fmt.Errorf("--authorized-keys %s: %w", file, err)
	}
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k.Line
	}
	return lines, nil
}
