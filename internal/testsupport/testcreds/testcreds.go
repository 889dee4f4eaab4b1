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

// Package testcreds makes the credentials server tests need: bcrypt hashes, SSH keys and host key files, and a
// free port on 127.0.0.1.
package testcreds

import (
	"crypto/ed25519"
	"net"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/credentials"
)

// Hash returns a bcrypt hash of password at the lowest cost, so tests stay fast.
func Hash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// Ed25519 returns a new private key and its SSH signer.
func Ed25519(t testing.TB) (ed25519.PrivateKey, ssh.Signer) {
	t.Helper()
	key, err := credentials.GenerateKey(credentials.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return key.(ed25519.PrivateKey), signer
}

// Signer returns a new ed25519 SSH signer.
func Signer(t testing.TB) ssh.Signer {
	t.Helper()
	_, s := Ed25519(t)
	return s
}

// WriteHostKey writes a new ed25519 private key in OpenSSH format to file, replacing it atomically as a Secret
// volume update does, and returns its public key.
func WriteHostKey(t testing.TB, file string) ssh.PublicKey {
	t.Helper()
	return WriteHostKeyOfType(t, file, credentials.ED25519)
}

// WriteHostKeyOfType is WriteHostKey for a key of the type, generated as the operator generates host keys.
func WriteHostKeyOfType(t testing.TB, file string, keyType credentials.KeyType) ssh.PublicKey {
	t.Helper()
	key, err := credentials.GenerateKey(keyType)
	if err != nil {
		t.Fatal(err)
	}
	data, err := credentials.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	WriteFileAtomic(t, file, data)
	return signer.PublicKey()
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago, and that no earlier call in this process
// returned: the kernel often hands the port just closed out again, so two calls in a row (an SFTP and a health
// address, say) could otherwise get the same port.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		freePorts.Lock()
		seen := freePorts.given[port]
		freePorts.given[port] = true
		freePorts.Unlock()
		if !seen {
			return port
		}
	}
	t.Fatal("no TCP port on 127.0.0.1 that this process was not given already")
	return 0
}

// freePorts are the ports FreePort has returned in this process.
var freePorts = struct {
	sync.Mutex
	given map[int]bool
}{given: map[int]bool{}}
