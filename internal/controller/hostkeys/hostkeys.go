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

// Package hostkeys generates the SSH host keys of an endpoint and checks a host-key Secret before pier-server is
// given it, so that a bad Secret shows in the endpoint's status instead of as a server that does not start. It
// also keeps the record of the keys an endpoint served and replaced (Compare, Retire), so that a host key never
// changes without the status saying so.
package hostkeys

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// Names of the keys in a generated host-key Secret, the file names OpenSSH uses.
const (
	ED25519Key = "ssh_host_ed25519_key"
	ECDSAKey   = "ssh_host_ecdsa_key"
	RSAKey     = "ssh_host_rsa_key"
)

// fileNames are the Secret keys of generated host keys by type, the file names OpenSSH uses.
var fileNames = map[credentials.KeyType]string{credentials.ED25519: ED25519Key, credentials.ECDSA: ECDSAKey, credentials.RSA: RSAKey}

// Generate returns a new private key of each of the types, as OpenSSH PEM, keyed by ED25519Key, ECDSAKey and
// RSAKey. An ed25519 or ECDSA P-256 key takes microseconds; an RSA 3072 key a fifth of a second of CPU.
func Generate(types []credentials.KeyType) (map[string][]byte, error) {
	if len(types) == 0 {
		return nil, errors.New("no host key types to generate")
	}
	data := make(map[string][]byte, len(types))
	for _, keyType := range types {
		name, ok := fileNames[keyType]
		if !ok {
			return nil, fmt.Errorf("unknown host key type %q (want %s, %s or %s)", keyType, credentials.ED25519,
				credentials.ECDSA, credentials.RSA)
		}
		key, err := credentials.GenerateKey(keyType)
		if err != nil {
			return nil, fmt.Errorf("generating the host key %s: %w", name, err)
		}
		if data[name], err = credentials.MarshalPrivateKey(key, ""); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", name, err)
		}
	}
	return data, nil
}

// Missing are the types among want that none of keys is of, by the key types Inspect reports.
func Missing(keys []Key, want []credentials.KeyType) []credentials.KeyType {
	sshTypes := map[credentials.KeyType]string{credentials.ED25519: ssh.KeyAlgoED25519, credentials.ECDSA: ssh.KeyAlgoECDSA256,
		credentials.RSA: ssh.KeyAlgoRSA}
	var out []credentials.KeyType
	for _, t := range want {
		if !slices.ContainsFunc(keys, func(k Key) bool { return k.Type == sshTypes[t] }) {
			out = append(out, t)
		}
	}
	return out
}

// Key describes one host key of a Secret.
type Key struct {
	// Name is the Secret key holding it.
	Name string
	// Type is the key's type as ssh.PublicKey.Type gives it: ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa...
	Type string
	// Fingerprint is the SHA256 fingerprint clients show, "SHA256:...".
	Fingerprint string
}

// Inspect checks a host-key Secret's data and describes its keys, sorted by Name. Every entry must be an
// unencrypted SSH private key in a form pier-server reads (OpenSSH, PKCS#1, PKCS#8 or SEC 1 PEM), except entries
// named *.pub, which are ignored so that a Secret made from an ssh-keygen directory works. DSA keys, RSA keys
// under 3072 bits and two keys of the same type are refused; so is a Secret without any key.
func Inspect(data map[string][]byte) ([]Key, error) {
	names := make([]string, 0, len(data))
	for name := range data {
		if !strings.HasSuffix(name, ".pub") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("the Secret holds no host key: add an OpenSSH private key such as %s "+
			"(ssh-keygen -t ed25519 -N '' -f %s)", ED25519Key, ED25519Key)
	}

	keys := make([]Key, 0, len(names))
	for _, name := range names {
		key, err := inspectKey(data[name])
		if err != nil {
			return nil, fmt.Errorf("host key %s: %w", name, err)
		}
		key.Name = name
		// An SSH server offers one key per type (golang.org/x/crypto/ssh keeps the last one added), so clients
		// would never see one of the two, and the status would show a fingerprint nobody is served.
		if i := slices.IndexFunc(keys, func(k Key) bool { return k.Type == key.Type }); i >= 0 {
			return nil, fmt.Errorf("host keys %s and %s are both %s keys; the server can offer only one key of "+
				"each type: remove one of them", keys[i].Name, name, key.Type)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// inspectKey parses one private key the way pier-server loads it (ssh.ParseRawPrivateKey) and applies its rules.
func inspectKey(pemBytes []byte) (Key, error) {
	raw, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return Key{}, errors.New("protected by a passphrase, which is not supported: the server must read " +
				"it unattended; remove the passphrase (ssh-keygen -p -N '' -f FILE)")
		}
		return Key{}, fmt.Errorf("not an SSH private key in PEM form (want e.g. \"-----BEGIN OPENSSH "+
			"PRIVATE KEY-----\"; public keys belong in a key named *.pub): %w", err)
	}
	if rsaKey, ok := raw.(*rsa.PrivateKey); ok && rsaKey.N.BitLen() < serverconfig.MinRSAHostKeyBits {
		return Key{}, fmt.Errorf("RSA key of %d bits; pier-server needs at least %d bits: generate a new one "+
			"(ssh-keygen -t rsa -b %d) or use an ed25519 key", rsaKey.N.BitLen(), serverconfig.MinRSAHostKeyBits,
			credentials.RSAKeyBits)
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return Key{}, fmt.Errorf("not usable as an SSH host key: %w", err)
	}
	pub := signer.PublicKey()
	if pub.Type() == credentials.KeyTypeDSA {
		return Key{}, errors.New("DSA (ssh-dss) keys are refused: current SSH clients no longer accept them; use an " +
			"ed25519 key (ssh-keygen -t ed25519 -N '')")
	}
	return Key{Type: pub.Type(), Fingerprint: ssh.FingerprintSHA256(pub)}, nil
}
