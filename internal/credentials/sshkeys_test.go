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
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
)

func TestGenerateKey(t *testing.T) {
	for _, tc := range []struct {
		keyType  KeyType
		wantType string
		check    func(key any) bool
	}{
		{ED25519, ssh.KeyAlgoED25519, func(key any) bool { _, ok := key.(ed25519.PrivateKey); return ok }},
		{ECDSA, ssh.KeyAlgoECDSA256, func(key any) bool {
			k, ok := key.(*ecdsa.PrivateKey)
			return ok && k.Curve == elliptic.P256()
		}},
		{RSA, ssh.KeyAlgoRSA, func(key any) bool {
			k, ok := key.(*rsa.PrivateKey)
			return ok && k.N.BitLen() == RSAKeyBits && RSAKeyBits >= serverconfig.MinRSAHostKeyBits
		}},
	} {
		t.Run(string(tc.keyType), func(t *testing.T) {
			key, err := GenerateKey(tc.keyType)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(key) {
				t.Fatalf("GenerateKey(%s) = %T of the wrong kind or size", tc.keyType, key)
			}
			data, err := MarshalPrivateKey(key, "a comment")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "-----BEGIN OPENSSH PRIVATE KEY-----\n") {
				t.Fatalf("not an OpenSSH private key:\n%s", data)
			}
			signer, err := ssh.ParsePrivateKey(data)
			if err != nil {
				t.Fatalf("the marshalled key does not parse: %v", err)
			}
			want, err := ssh.NewSignerFromKey(key)
			if err != nil {
				t.Fatal(err)
			}
			if signer.PublicKey().Type() != tc.wantType || string(signer.PublicKey().Marshal()) != string(want.PublicKey().Marshal()) {
				t.Fatalf("parses as another key: %s", signer.PublicKey().Type())
			}
		})
	}
	if _, err := GenerateKey("dsa"); err == nil || !strings.Contains(err.Error(), `unknown SSH key type "dsa"`) {
		t.Fatalf("GenerateKey(dsa): %v", err)
	}
}

func TestPublicKeyLine(t *testing.T) {
	key, err := GenerateKey(ED25519)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	line := PublicKeyLine(signer.PublicKey())
	if strings.ContainsAny(line, "\r\n") || len(strings.Fields(line)) != 2 || !strings.HasPrefix(line, "ssh-ed25519 ") {
		t.Fatalf("PublicKeyLine = %q, want \"ssh-ed25519 BASE64\"", line)
	}
	// It is a line the operator and the server accept.
	keys, err := ParseAuthorizedKeyLines([]string{line})
	if err != nil || keys[0].Line != line {
		t.Fatalf("ParseAuthorizedKeyLines(%q) = %v, %v", line, keys, err)
	}
}

func TestEnsureKeyFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "id_ed25519")
	first, err := EnsureKeyFile(file, "pier test")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}
	if first.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Errorf("a new key is %s, want ed25519", first.PublicKey().Type())
	}
	// The key survives: the next call reads it.
	again, err := EnsureKeyFile(file, "other comment")
	if err != nil || string(again.PublicKey().Marshal()) != string(first.PublicKey().Marshal()) {
		t.Fatalf("a second EnsureKeyFile did not keep the key: %v", err)
	}

	// Something that is not a key is an error naming the file, and stays as it is.
	broken := filepath.Join(dir, "broken")
	if err := os.WriteFile(broken, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureKeyFile(broken, ""); err == nil || !strings.Contains(err.Error(), broken) ||
		!strings.Contains(err.Error(), "delete it") {
		t.Fatalf("EnsureKeyFile(broken): %v, want an error naming the file and the way out", err)
	}
	if data, _ := os.ReadFile(broken); string(data) != "not a key" {
		t.Fatal("EnsureKeyFile replaced a file it could not read as a key")
	}
	// A folder that does not exist is an error, not a panic.
	if _, err := EnsureKeyFile(filepath.Join(dir, "missing", "key"), ""); err == nil {
		t.Fatal("EnsureKeyFile in a missing folder succeeded")
	}
}
