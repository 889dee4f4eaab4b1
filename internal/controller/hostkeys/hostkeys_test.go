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

package hostkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/server/sftp"
)

// allTypes are the three types of host keys the operator can generate.
var allTypes = []credentials.KeyType{credentials.ED25519, credentials.ECDSA, credentials.RSA}

func TestGenerate(t *testing.T) {
	data, err := Generate(allTypes)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(data)), []string{ECDSAKey, ED25519Key, RSAKey}; !slices.Equal(got, want) {
		t.Fatalf("Generate() keys %q, want %q", got, want)
	}
	wantTypes := map[string]string{ED25519Key: "ssh-ed25519", ECDSAKey: "ecdsa-sha2-nistp256", RSAKey: "ssh-rsa"}
	for name, pemBytes := range data {
		block, _ := pem.Decode(pemBytes)
		if block == nil || block.Type != "OPENSSH PRIVATE KEY" {
			t.Errorf("%s is not an OpenSSH PEM private key:\n%s", name, pemBytes)
			continue
		}
		signer, err := ssh.ParsePrivateKey(pemBytes)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := signer.PublicKey().Type(); got != wantTypes[name] {
			t.Errorf("%s is a %s key, want %s", name, got, wantTypes[name])
		}
	}
	raw, err := ssh.ParseRawPrivateKey(data[RSAKey])
	if err != nil {
		t.Fatal(err)
	}
	if bits := raw.(*rsa.PrivateKey).N.BitLen(); bits != 3072 {
		t.Errorf("RSA key has %d bits, want 3072", bits)
	}

	keys, err := Inspect(data)
	if err != nil {
		t.Fatalf("Inspect refuses generated keys: %v", err)
	}
	want := []Key{
		{Name: ECDSAKey, Type: "ecdsa-sha2-nistp256"},
		{Name: ED25519Key, Type: "ssh-ed25519"},
		{Name: RSAKey, Type: "ssh-rsa"},
	}
	checkKeys(t, keys, want)

	// Keys are fresh each time: two endpoints never share a host key.
	again, err := Generate(allTypes)
	if err != nil {
		t.Fatal(err)
	}
	for name := range data {
		if string(data[name]) == string(again[name]) {
			t.Errorf("Generate() returned the same %s twice", name)
		}
	}
}

// TestGenerateTheTypesAsked: only the types asked for are generated (RSA, which costs a fifth of a second, only
// when asked), and Missing names the types a set of keys lacks.
func TestGenerateTheTypesAsked(t *testing.T) {
	data, err := Generate([]credentials.KeyType{credentials.ED25519, credentials.ECDSA})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(data)), []string{ECDSAKey, ED25519Key}; !slices.Equal(got, want) {
		t.Fatalf("keys %q, want %q", got, want)
	}
	keys, err := Inspect(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := Missing(keys, allTypes); !slices.Equal(got, []credentials.KeyType{credentials.RSA}) {
		t.Errorf("Missing = %v, want rsa", got)
	}
	if got := Missing(keys, []credentials.KeyType{credentials.ECDSA}); got != nil {
		t.Errorf("Missing = %v, want none", got)
	}
	for _, types := range [][]credentials.KeyType{nil, {"dsa"}} {
		if _, err := Generate(types); err == nil {
			t.Errorf("Generate(%v) made keys", types)
		}
	}
}

// pier-server must load the generated keys as the operator mounts them: one file per Secret key.
func TestServerLoadsGeneratedKeys(t *testing.T) {
	data, err := Generate(allTypes)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := Inspect(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := make([]string, 0, len(keys))
	for _, k := range keys {
		file := filepath.Join(dir, k.Name)
		if err := os.WriteFile(file, data[k.Name], 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	hostKeys, err := sftp.NewHostKeys(files)
	if err != nil {
		t.Fatalf("server refuses the generated keys: %v", err)
	}
	if err := hostKeys.SetFiles(files); err != nil {
		t.Fatalf("server refuses the generated keys on reload: %v", err)
	}
	signers, err := hostKeys.Signers()
	if err != nil {
		t.Fatal(err)
	}
	served := make([]string, 0, len(signers))
	for _, s := range signers {
		served = append(served, ssh.FingerprintSHA256(s.PublicKey()))
	}
	for _, k := range keys {
		if !slices.Contains(served, k.Fingerprint) {
			t.Errorf("Inspect reports %s %s, which the server does not offer (it offers %q)", k.Name, k.Fingerprint, served)
		}
	}
}

func TestInspect(t *testing.T) {
	gen, err := Generate(allTypes)
	if err != nil {
		t.Fatal(err)
	}
	ed := openSSH(t, newEd25519(t))
	edPub := publicLine(t, ed)
	rsaKey, err := ssh.ParseRawPrivateKey(gen[RSAKey])
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, err := x509.MarshalECPrivateKey(p384)
	if err != nil {
		t.Fatal(err)
	}
	ed8, err := x509.MarshalPKCS8PrivateKey(newEd25519(t))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		data map[string][]byte
		want []Key
	}{
		{
			name: "one ed25519 key with its .pub",
			data: map[string][]byte{"ssh_host_ed25519_key": ed, "ssh_host_ed25519_key.pub": edPub},
			want: []Key{{Name: "ssh_host_ed25519_key", Type: "ssh-ed25519"}},
		},
		{
			name: "any key names, sorted",
			data: map[string][]byte{"z": ed, "a": gen[RSAKey], "m": gen[ECDSAKey]},
			want: []Key{{Name: "a", Type: "ssh-rsa"}, {Name: "m", Type: "ecdsa-sha2-nistp256"}, {Name: "z", Type: "ssh-ed25519"}},
		},
		{
			name: "PEM forms other than OpenSSH's",
			data: map[string][]byte{
				"pkcs1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
					Bytes: x509.MarshalPKCS1PrivateKey(rsaKey.(*rsa.PrivateKey))}),
				"sec1":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: p384DER}),
				"pkcs8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ed8}),
			},
			want: []Key{
				{Name: "pkcs1", Type: "ssh-rsa"},
				{Name: "pkcs8", Type: "ssh-ed25519"},
				{Name: "sec1", Type: "ecdsa-sha2-nistp384"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := Inspect(tt.data)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			checkKeys(t, keys, tt.want)
			for _, k := range keys {
				signer, err := ssh.ParsePrivateKey(tt.data[k.Name])
				if err != nil {
					t.Fatal(err)
				}
				if want := ssh.FingerprintSHA256(signer.PublicKey()); k.Fingerprint != want {
					t.Errorf("%s: Fingerprint %q, want %q", k.Name, k.Fingerprint, want)
				}
			}
		})
	}
}

func TestInspectErrors(t *testing.T) {
	ed := openSSH(t, newEd25519(t))
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	encrypted, err := ssh.MarshalPrivateKeyWithPassphrase(newEd25519(t), "", []byte("passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    map[string][]byte
		wantErr []string
	}{
		{name: "nil", data: nil, wantErr: []string{"holds no host key"}},
		{name: "empty", data: map[string][]byte{}, wantErr: []string{"holds no host key"}},
		{
			name:    "only a public key",
			data:    map[string][]byte{"ssh_host_ed25519_key.pub": publicLine(t, ed)},
			wantErr: []string{"holds no host key"},
		},
		{
			name:    "garbage",
			data:    map[string][]byte{"ssh_host_ed25519_key": ed, "notes.txt": []byte("hello")},
			wantErr: []string{"host key notes.txt:", "not an SSH private key"},
		},
		{
			name:    "empty value",
			data:    map[string][]byte{"ssh_host_ed25519_key": {}},
			wantErr: []string{"host key ssh_host_ed25519_key:", "not an SSH private key"},
		},
		{
			name:    "public key under a private key's name",
			data:    map[string][]byte{"ssh_host_ed25519_key": publicLine(t, ed)},
			wantErr: []string{"host key ssh_host_ed25519_key:", "*.pub"},
		},
		{
			name:    "passphrase",
			data:    map[string][]byte{"ssh_host_ed25519_key": pem.EncodeToMemory(encrypted)},
			wantErr: []string{"host key ssh_host_ed25519_key:", "passphrase", "not supported"},
		},
		{
			name: "RSA 2048",
			data: map[string][]byte{"ssh_host_rsa_key": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
				Bytes: x509.MarshalPKCS1PrivateKey(rsa2048)})},
			wantErr: []string{"host key ssh_host_rsa_key:", "RSA key of 2048 bits", "at least 3072"},
		},
		{
			name:    "DSA",
			data:    map[string][]byte{"ssh_host_dsa_key": dsaKey(t)},
			wantErr: []string{"host key ssh_host_dsa_key:", "DSA"},
		},
		{
			name:    "two keys of one type",
			data:    map[string][]byte{"ssh_host_ed25519_key": ed, "ssh_host_ed25519_key_new": openSSH(t, newEd25519(t))},
			wantErr: []string{"ssh_host_ed25519_key and ssh_host_ed25519_key_new", "only one key of each type"},
		},
		{
			name:    "the same key twice",
			data:    map[string][]byte{"a": ed, "b": ed},
			wantErr: []string{"a and b are both ssh-ed25519 keys"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := Inspect(tt.data)
			if err == nil {
				t.Fatalf("Inspect = %v, want an error", keys)
			}
			if keys != nil {
				t.Errorf("Inspect returned keys %v with its error", keys)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// Whatever Inspect refuses for the server's reasons, the server refuses too; this keeps the RSA limits in step.
func TestServerRefusesShortRSAKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), RSAKey)
	if err := os.WriteFile(file, openSSH(t, key), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sftp.NewHostKeys([]string{file}); err == nil {
		t.Fatal("the server accepts a 2048-bit RSA host key; Inspect and the server must both use serverconfig.MinRSAHostKeyBits")
	}
}

func newEd25519(t *testing.T) crypto.Signer {
	t.Helper()
	key, err := credentials.GenerateKey(credentials.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func openSSH(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	data, err := credentials.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// publicLine returns the authorized_keys line of a PEM private key, as ssh-keygen writes into *.pub.
func publicLine(t *testing.T, pemBytes []byte) []byte {
	t.Helper()
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.MarshalAuthorizedKey(signer.PublicKey())
}

// dsaKey returns a "DSA PRIVATE KEY" PEM block. Its numbers only have the sizes ssh checks (1024-bit P, 160-bit Q,
// G < P); it never signs anything here, and crypto/dsa is deprecated.
func dsaKey(t *testing.T) []byte {
	t.Helper()
	der, err := asn1.Marshal(struct {
		Version       int
		P, Q, G, Y, X *big.Int
	}{
		P: new(big.Int).SetBit(big.NewInt(1), 1023, 1),
		Q: new(big.Int).SetBit(big.NewInt(1), 159, 1),
		G: big.NewInt(2), Y: big.NewInt(3), X: big.NewInt(5),
	})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "DSA PRIVATE KEY", Bytes: der})
}

// checkKeys compares names and types, and checks that fingerprints have OpenSSH's form.
func checkKeys(t *testing.T, got, want []Key) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Type != want[i].Type {
			t.Errorf("key %d = %s %s, want %s %s", i, got[i].Name, got[i].Type, want[i].Name, want[i].Type)
		}
		if !strings.HasPrefix(got[i].Fingerprint, "SHA256:") {
			t.Errorf("key %s: fingerprint %q is not SHA256:...", got[i].Name, got[i].Fingerprint)
		}
	}
}
