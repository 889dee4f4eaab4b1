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

package credentials

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

// KeyType is a type of SSH key pier generates.
type KeyType string

// The SSH key types pier generates, each at one size: host keys of all three (so that every client finds one it
// supports), user and portable-mode host keys ed25519.
const (
	ED25519 KeyType = "ed25519"
	ECDSA   KeyType = "ecdsa" // P-256
	RSA     KeyType = "rsa"   // RSAKeyBits
)

// RSAKeyBits is the size of a generated RSA key: pier-server loads RSA host keys of at least
// serverconfig.MinRSAHostKeyBits, and this is the size OpenSSH's ssh-keygen picks by default.
const RSAKeyBits = 3072

// keyFileMode is the mode of a private key file: for its owner only, as OpenSSH insists.
const keyFileMode os.FileMode = 0o600

// GenerateKey returns a new private key of type t.
func GenerateKey(t KeyType) (crypto.Signer, error) {
	var key crypto.Signer
	var err error
	switch t {
	case ED25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case ECDSA:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA:
		key, err = rsa.GenerateKey(rand.Reader, RSAKeyBits)
	default:
		return nil, fmt.Errorf("unknown SSH key type %q (want %s, %s or %s)", t, ED25519, ECDSA, RSA)
	}
	if err != nil {
		return nil, fmt.Errorf("generating an %s key: %w", t, err)
	}
	return key, nil
}

// MarshalPrivateKey encodes key as an unencrypted OpenSSH private key ("-----BEGIN OPENSSH PRIVATE KEY-----"),
// the form ssh-keygen writes and pier-server reads.
func MarshalPrivateKey(key crypto.Signer, comment string) ([]byte, error) {
	block, err := ssh.MarshalPrivateKey(key, comment)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}

// PublicKeyLine is key as an authorized_keys or known_hosts entry, "<type> <base64>", without comment or line
// break.
func PublicKeyLine(key ssh.PublicKey) string {
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(key)), "\n")
}

// EnsureKeyFile returns the SSH key in file, first creating an ed25519 key there (mode 0600, with comment) if there
// is no file, so that a key clients pinned or were given survives restarts. A file that exists but does not hold
// a key is an error, not replaced: whoever trusts the key decides.
func EnsureKeyFile(file, comment string) (ssh.Signer, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return createKeyFile(file, comment)
	}
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to get a new key)", file, err)
	}
	return signer, nil
}

func createKeyFile(file, comment string) (ssh.Signer, error) {
	key, err := GenerateKey(ED25519)
	if err != nil {
		return nil, err
	}
	data, err := MarshalPrivateKey(key, comment)
	if err != nil {
		return nil, err
	}
	// O_EXCL: two processes starting at once must not each write a key and use different ones.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, keyFileMode)
	if err != nil {
		return nil, fmt.Errorf("creating the key file: %w", err)
	}
	_, err = f.Write(data)
	if err = errors.Join(err, f.Close()); err != nil {
		return nil, fmt.Errorf("writing %s: %w", file, err)
	}
	return ssh.NewSignerFromKey(key)
}
