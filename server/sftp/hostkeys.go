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

package sftp

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
)

// HostKeys loads the server's SSH host keys from files and reloads them when a file changes, so a rotated key is
// offered to the next connection without a restart. Once loaded, keys are only ever replaced by other keys that
// load: if a file changes into something that does not parse, or disappears (a host-key Secret that was emptied
// or deleted), the last good keys stay in use and the error is reported. Clients that pinned the keys must never
// see them change because a file went missing.
type HostKeys struct {
	files []string

	mu      sync.Mutex
	stamps  []fileStamp
	signers []ssh.Signer
	// ok is false while the files, as they are now, do not load; loadedAt is when signers were read. Both are
	// for the reload metrics.
	ok       bool
	loadedAt time.Time
}

type fileStamp struct {
	size    int64
	modTime time.Time
}

// NewHostKeys loads every file once; it fails if any key is unusable, because a server that starts with a
// broken key would silently offer fewer keys than configured.
func NewHostKeys(files []string) (*HostKeys, error) {
	h := &HostKeys{}
	if err := h.SetFiles(files); err != nil {
		return nil, err
	}
	return h, nil
}

// SetFiles switches to another list of key files (after a config reload) and loads them. When they do not load
// and keys are already in use, those stay in use and the new files are tried again at each connection (Signers)
// until they load: in Kubernetes the config naming new files arrives through the API a minute or so before the
// kubelet writes the files. The error says why the new files did not load.
func (h *HostKeys) SetFiles(files []string) error {
	signers, stamps, err := loadHostKeys(files)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		if h.signers != nil {
			h.files = slices.Clone(files)
			h.stamps = make([]fileStamp, len(files)) // a zero stamp matches no file, so Signers tries again
			h.ok = false
		}
		return err
	}
	h.files, h.signers, h.stamps = slices.Clone(files), signers, stamps
	h.ok, h.loadedAt = true, time.Now()
	return nil
}

// LoadState re-reads the files if they changed, as a new connection would, and reports whether they load as they
// are now and when keys were last loaded.
func (h *HostKeys) LoadState() (ok bool, lastSuccess time.Time) {
	_, _ = h.Signers() // its error is what ok reports
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ok, h.loadedAt
}

// Signers returns the current host keys, re-reading the files first if any of them changed.
func (h *HostKeys) Signers() ([]ssh.Signer, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.changedLocked() {
		// The files are the ones loaded (again, after a file that went missing came back unchanged).
		h.ok = true
		return h.signers, nil
	}
	signers, stamps, err := loadHostKeys(h.files)
	if err != nil {
		h.ok = false
		return h.signers, fmt.Errorf("reloading host keys, keeping the previous ones: %w", err)
	}
	h.signers, h.stamps = signers, stamps
	h.ok, h.loadedAt = true, time.Now()
	return h.signers, nil
}

func (h *HostKeys) changedLocked() bool {
	for i, file := range h.files {
		st, err := stamp(file)
		if err != nil || st != h.stamps[i] {
			return true
		}
	}
	return false
}

func stamp(file string) (fileStamp, error) {
	info, err := os.Stat(file) // follows Kubernetes' ..data symlink swap
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: info.Size(), modTime: info.ModTime()}, nil
}

func loadHostKeys(files []string) ([]ssh.Signer, []fileStamp, error) {
	if len(files) == 0 {
		return nil, nil, errors.New("no host key files")
	}
	signers := make([]ssh.Signer, 0, len(files))
	stamps := make([]fileStamp, 0, len(files))
	for _, file := range files {
		st, err := stamp(file)
		if err != nil {
			return nil, nil, fmt.Errorf("host key %s: %w", file, err)
		}
		signer, err := loadHostKey(file)
		if err != nil {
			return nil, nil, fmt.Errorf("host key %s: %w", file, err)
		}
		signers = append(signers, signer)
		stamps = append(stamps, st)
	}
	return signers, stamps, nil
}

// loadHostKey parses one OpenSSH or PEM private key. RSA keys sign with SHA-2 only (rsa-sha2-512/256), never the
// SHA-1 "ssh-rsa" algorithm.
func loadHostKey(file string) (ssh.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	key, err := ssh.ParseRawPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("not an unencrypted private key: %w", err)
	}
	if rsaKey, ok := key.(*rsa.PrivateKey); ok && rsaKey.N.BitLen() < serverconfig.MinRSAHostKeyBits {
		return nil, fmt.Errorf("RSA key of %d bits; use at least %d bits or an ed25519 key", rsaKey.N.BitLen(),
			serverconfig.MinRSAHostKeyBits)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, err
	}
	if signer.PublicKey().Type() != ssh.KeyAlgoRSA {
		return signer, nil
	}
	algSigner, ok := signer.(ssh.AlgorithmSigner)
	if !ok {
		return nil, errors.New("RSA signer cannot choose its algorithm")
	}
	return ssh.NewSignerWithAlgorithms(algSigner, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256})
}
