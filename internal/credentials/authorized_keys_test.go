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
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
)

// testKeys are public keys of every kind the tests need, made once.
type testKeys struct {
	ed25519, ed25519b, ecdsa256, ecdsa384, ecdsa521, rsa2048, rsa1024, skEd25519, dsa, cert ssh.PublicKey
}

func newTestKeys(t *testing.T) testKeys {
	t.Helper()
	var k testKeys
	k.ed25519 = ed25519Key(t)
	k.ed25519b = ed25519Key(t)
	k.ecdsa256 = ecdsaKey(t, elliptic.P256())
	k.ecdsa384 = ecdsaKey(t, elliptic.P384())
	k.ecdsa521 = ecdsaKey(t, elliptic.P521())
	k.rsa2048 = rsaKey(t, 2048)
	k.rsa1024 = rsaKey(t, 1024)
	k.skEd25519 = wireKey(t, struct {
		Name        string
		KeyBytes    []byte
		Application string
	}{ssh.KeyAlgoSKED25519, make([]byte, ed25519.PublicKeySize), "ssh:"})
	// A DSA key only needs the sizes ssh checks (1024-bit P, 160-bit Q, G < P) to parse; it never signs here.
	p := new(big.Int).SetBit(big.NewInt(1), 1023, 1)
	q := new(big.Int).SetBit(big.NewInt(1), 159, 1)
	k.dsa = wireKey(t, struct {
		Name       string
		P, Q, G, Y *big.Int
	}{KeyTypeDSA, p, q, big.NewInt(2), big.NewInt(3)})
	k.cert = certificate(t, k.ed25519)
	return k
}

func ed25519Key(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sshKey(t, pub)
}

func ecdsaKey(t *testing.T, curve elliptic.Curve) ssh.PublicKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sshKey(t, &priv.PublicKey)
}

func rsaKey(t *testing.T, bits int) ssh.PublicKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return sshKey(t, &priv.PublicKey)
}

func sshKey(t *testing.T, pub any) ssh.PublicKey {
	t.Helper()
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// wireKey parses a public key from its SSH wire form, for key types Go cannot generate.
func wireKey(t *testing.T, wire any) ssh.PublicKey {
	t.Helper()
	key, err := ssh.ParsePublicKey(ssh.Marshal(wire))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// certificate returns an OpenSSH user certificate for key, signed by a new CA.
func certificate(t *testing.T, key ssh.PublicKey) ssh.PublicKey {
	t.Helper()
	_, caKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := ssh.NewSignerFromKey(caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert := &ssh.Certificate{Key: key, CertType: ssh.UserCert, ValidPrincipals: []string{"alice"},
		ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return cert
}

// line returns key as an authorized_keys line with comment.
func line(key ssh.PublicKey, comment string) string {
	l := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(key)), "\n")
	if comment != "" {
		l += " " + comment
	}
	return l
}

func TestParseAuthorizedKeys(t *testing.T) {
	k := newTestKeys(t)
	ed := line(k.ed25519, "alice@laptop")
	edB64 := strings.Fields(ed)[1]
	tests := []struct {
		name string
		data string
		want []string // Lines
	}{
		{name: "empty", data: "", want: nil},
		{name: "only comments and blank lines", data: "# keys\n\n   \n\t# more\n", want: nil},
		{name: "one key", data: ed + "\n", want: []string{ed}},
		{name: "no trailing newline", data: ed, want: []string{ed}},
		{name: "no comment", data: line(k.ed25519, ""), want: []string{line(k.ed25519, "")}},
		{
			name: "every accepted type, with comments and blank lines",
			data: "# alice\n" + ed + "\n\n  # work keys\n" + line(k.ecdsa256, "p256") + "\n" +
				line(k.ecdsa384, "p384") + "\n" + line(k.ecdsa521, "p521") + "\n" + line(k.rsa2048, "rsa") + "\n" +
				line(k.skEd25519, "yubikey") + "\n",
			want: []string{ed, line(k.ecdsa256, "p256"), line(k.ecdsa384, "p384"), line(k.ecdsa521, "p521"),
				line(k.rsa2048, "rsa"), line(k.skEd25519, "yubikey")},
		},
		{
			name: "CRLF line endings",
			data: ed + "\r\n" + line(k.ed25519b, "bob") + "\r\n",
			want: []string{ed, line(k.ed25519b, "bob")},
		},
		{
			name: "byte order mark and CRLF from a Windows editor",
			data: "\ufeff" + ed + "\r\n",
			want: []string{ed},
		},
		{
			name: "whitespace is normalized",
			data: "  ssh-ed25519\t" + edB64 + "   alice@laptop  \n",
			want: []string{ed},
		},
		{
			name: "comment with spaces and tabs is kept",
			data: ed + " and\tmore words\n",
			want: []string{ed + " and\tmore words"},
		},
		{
			name: "UTF-8 comment",
			data: line(k.ed25519, "jürgen@büro") + "\n",
			want: []string{line(k.ed25519, "jürgen@büro")},
		},
		{
			name: "duplicate key kept once, first comment wins",
			data: ed + "\n" + line(k.ed25519b, "bob") + "\n" + line(k.ed25519, "alice@desktop") + "\n",
			want: []string{ed, line(k.ed25519b, "bob")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseAuthorizedKeys([]byte(tt.data))
			checkLines(t, keys, err, tt.want)
		})
	}
}

func TestParseAuthorizedKeysErrors(t *testing.T) {
	k := newTestKeys(t)
	ed := line(k.ed25519, "alice")
	edB64 := strings.Fields(ed)[1]
	tests := []struct {
		name     string
		data     string
		wantLine int
		wantErr  string
	}{
		{name: "garbage", data: ed + "\n\nnot a key\n", wantLine: 3, wantErr: "not a public key"},
		{name: "garbage before good keys", data: "hello\n" + ed + "\n", wantLine: 1, wantErr: "not a public key"},
		{name: "type only", data: "ssh-ed25519\n", wantLine: 1, wantErr: "not a public key"},
		{name: "bad base64", data: "ssh-ed25519 AAAA!!!! alice\n", wantLine: 1, wantErr: "not a public key"},
		{name: "truncated key", data: "ssh-ed25519 " + edB64[:20] + "\n", wantLine: 1, wantErr: "not a public key"},
		{name: "type does not match the key", data: "ssh-rsa " + edB64 + "\n", wantLine: 1, wantErr: "not a public key"},
		{name: "private key pasted", data: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n", wantLine: 1, wantErr: "not a public key"},
		{name: "from option", data: ed + "\nfrom=\"10.0.0.0/8\" " + ed + "\n", wantLine: 2, wantErr: "options (from)"},
		{name: "several options", data: "no-pty,command=\"/bin/true\",from=\"*.example.com\" " + ed, wantLine: 1,
			wantErr: "options (no-pty, command, from)"},
		{name: "restrict", data: "restrict " + ed, wantLine: 1, wantErr: "options (restrict)"},
		{name: "two keys on one line", data: ed + " " + line(k.ed25519b, "bob"), wantLine: 1, wantErr: "more than one key"},
		{name: "two keys without comment", data: line(k.ed25519, "") + " " + line(k.ed25519b, ""), wantLine: 1,
			wantErr: "more than one key"},
		{name: "DSA", data: line(k.dsa, "old"), wantLine: 1, wantErr: "ssh-dss (DSA) keys are refused"},
		{name: "RSA 1024", data: ed + "\n" + line(k.rsa1024, "old"), wantLine: 2, wantErr: "RSA key of 1024 bits"},
		{name: "certificate", data: line(k.cert, "alice-cert"), wantLine: 1, wantErr: "SSH certificate"},
		{name: "control character in comment", data: ed + "\x01", wantLine: 1, wantErr: "control characters"},
		{name: "bare carriage return", data: ed + "\rmore", wantLine: 1, wantErr: "control characters"},
		{name: "not UTF-8", data: ed + " \xff\xfe", wantLine: 1, wantErr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseAuthorizedKeys([]byte(tt.data))
			checkLineError(t, keys, err, tt.wantLine, tt.wantErr)
		})
	}
}

func TestParseAuthorizedKeyLines(t *testing.T) {
	k := newTestKeys(t)
	ed := line(k.ed25519, "alice")
	bob := line(k.ed25519b, "bob")
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{name: "none", lines: nil, want: nil},
		{name: "two keys", lines: []string{ed, bob}, want: []string{ed, bob}},
		{name: "surrounding spaces", lines: []string{"  " + ed + "  "}, want: []string{ed}},
		{name: "duplicate", lines: []string{ed, bob, line(k.ed25519, "again")}, want: []string{ed, bob}},
		{name: "RSA and ECDSA", lines: []string{line(k.rsa2048, ""), line(k.ecdsa256, "x")},
			want: []string{line(k.rsa2048, ""), line(k.ecdsa256, "x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseAuthorizedKeyLines(tt.lines)
			checkLines(t, keys, err, tt.want)
		})
	}
}

func TestParseAuthorizedKeyLinesErrors(t *testing.T) {
	k := newTestKeys(t)
	ed := line(k.ed25519, "alice")
	bob := line(k.ed25519b, "bob")
	tests := []struct {
		name     string
		lines    []string
		wantLine int
		wantErr  string
	}{
		{name: "two lines in one entry", lines: []string{ed, ed + "\n" + bob}, wantLine: 2, wantErr: "more than one line"},
		{name: "trailing newline", lines: []string{ed + "\n"}, wantLine: 1, wantErr: "more than one line"},
		{name: "CRLF", lines: []string{ed + "\r\n"}, wantLine: 1, wantErr: "more than one line"},
		{name: "empty", lines: []string{ed, bob, ""}, wantLine: 3, wantErr: "empty entry"},
		{name: "blank", lines: []string{" \t"}, wantLine: 1, wantErr: "empty entry"},
		{name: "comment", lines: []string{"# alice"}, wantLine: 1, wantErr: "a comment, not a public key"},
		{name: "garbage", lines: []string{ed, "ssh-ed25519 nope"}, wantLine: 2, wantErr: "not a public key"},
		{name: "options", lines: []string{"from=\"10.0.0.1\" " + ed}, wantLine: 1, wantErr: "options (from)"},
		{name: "two keys", lines: []string{ed + " " + bob}, wantLine: 1, wantErr: "more than one key"},
		{name: "DSA", lines: []string{line(k.dsa, "")}, wantLine: 1, wantErr: "DSA"},
		{name: "RSA 1024", lines: []string{line(k.rsa1024, "")}, wantLine: 1, wantErr: "1024 bits"},
		{name: "certificate", lines: []string{line(k.cert, "")}, wantLine: 1, wantErr: "SSH certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseAuthorizedKeyLines(tt.lines)
			checkLineError(t, keys, err, tt.wantLine, tt.wantErr)
		})
	}
}

func TestAuthorizedKeyFields(t *testing.T) {
	k := newTestKeys(t)
	tests := []struct {
		key      ssh.PublicKey
		wantType string
	}{
		{k.ed25519, "ssh-ed25519"},
		{k.ecdsa256, "ecdsa-sha2-nistp256"},
		{k.ecdsa384, "ecdsa-sha2-nistp384"},
		{k.ecdsa521, "ecdsa-sha2-nistp521"},
		{k.rsa2048, "ssh-rsa"},
		{k.skEd25519, "sk-ssh-ed25519@openssh.com"},
	}
	for _, tt := range tests {
		t.Run(tt.wantType, func(t *testing.T) {
			keys, err := ParseAuthorizedKeyLines([]string{line(tt.key, "c")})
			if err != nil {
				t.Fatal(err)
			}
			got := keys[0]
			if got.Type != tt.wantType {
				t.Errorf("Type = %q, want %q", got.Type, tt.wantType)
			}
			if want := ssh.FingerprintSHA256(tt.key); got.Fingerprint != want || !strings.HasPrefix(want, "SHA256:") {
				t.Errorf("Fingerprint = %q, want %q", got.Fingerprint, want)
			}
			// The line must read back as the same key and comment, with no options.
			key, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(got.Line))
			if err != nil || comment != "c" || len(options) != 0 || len(rest) != 0 {
				t.Fatalf("Line %q reads back as comment %q, options %q, rest %q, error %v", got.Line, comment, options, rest, err)
			}
			if string(key.Marshal()) != string(tt.key.Marshal()) {
				t.Errorf("Line %q reads back as another key", got.Line)
			}
		})
	}
}

func TestLineError(t *testing.T) {
	inner := errors.New("not a public key")
	var err error = &LineError{Line: 3, Err: inner}
	if got, want := err.Error(), "line 3: not a public key"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, inner) {
		t.Error("errors.Is does not find the wrapped error")
	}
}

// Every line the operator accepts must also pass pier-server's own validation, or the rendered configuration
// would be refused as a whole.
func TestServerAcceptsParsedKeys(t *testing.T) {
	k := newTestKeys(t)
	data := strings.Join([]string{
		"# team",
		line(k.ed25519, "alice@laptop"),
		line(k.ed25519b, "comment with\ttab and ünïcode"),
		line(k.ecdsa256, ""), line(k.ecdsa384, "p384"), line(k.ecdsa521, "p521"),
		line(k.rsa2048, "rsa"), line(k.skEd25519, "yubikey"),
	}, "\r\n")
	keys, err := ParseAuthorizedKeys([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	inline, err := ParseAuthorizedKeyLines([]string{"  " + line(k.ed25519, "x") + " "})
	if err != nil {
		t.Fatal(err)
	}
	keys = append(keys, inline...)
	lines := make([]string, 0, len(keys))
	for _, key := range keys {
		lines = append(lines, key.Line)
	}
	u := serverconfig.User{Username: "alice", AuthorizedKeys: lines}
	if err := u.Validate(); err != nil {
		t.Fatalf("server refuses the parsed keys: %v", err)
	}
}

// checkLines fails unless the parse succeeded with keys whose Lines are want.
func checkLines(t *testing.T, keys []AuthorizedKey, err error, want []string) {
	t.Helper()
	if err != nil {
		t.Fatalf("parse error: %v", err)
	}
	got := make([]string, 0, len(keys))
	for _, k := range keys {
		got = append(got, k.Line)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
		t.Errorf("got lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func checkLineError(t *testing.T, keys []AuthorizedKey, err error, wantLine int, wantErr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, keys %v; want line %d: ...%s...", keys, wantLine, wantErr)
	}
	if keys != nil {
		t.Errorf("keys %v returned with the error, want none", keys)
	}
	var lineErr *LineError
	if !errors.As(err, &lineErr) {
		t.Fatalf("error %q (%T) is not a *LineError", err, err)
	}
	if lineErr.Line != wantLine {
		t.Errorf("error %q names line %d, want %d", err, lineErr.Line, wantLine)
	}
	if !strings.Contains(err.Error(), wantErr) {
		t.Errorf("error %q does not contain %q", err, wantErr)
	}
}
