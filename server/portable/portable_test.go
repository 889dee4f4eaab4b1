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

package portable

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pier-dev/pier/internal/pki"
)

func options(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o750); err != nil {
		t.Fatal(err)
	}
	return Options{
		Root: root, StateDir: filepath.Join(dir, "state"), Username: "pier", Host: "127.0.0.1",
		SFTPPort: 2222, FTPPort: 2121, FTPSPort: 9990, PassiveStart: 30000, PassiveEnd: 30019, HealthPort: 9080,
	}
}

func TestPrepareBuildsAValidConfigAndKeepsKeys(t *testing.T) {
	opts := options(t)
	first, err := Prepare(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Password) != 24 {
		t.Fatalf("generated password has %d characters, want 24", len(first.Password))
	}
	user := first.Config.Users[0]
	if bcrypt.CompareHashAndPassword([]byte(user.PasswordHash), []byte(first.Password)) != nil {
		t.Fatal("the config's hash is not of the printed password")
	}
	if first.Config.FTP.TLS.Mode != "Required" || first.Config.FTP.ImplicitTLSAddress != "127.0.0.1:9990" {
		t.Fatalf("FTPS not required or implicit port missing: %+v", first.Config.FTP)
	}
	if err := first.Config.Validate(); err != nil {
		t.Fatal(err)
	}
	hostKey, _ := os.ReadFile(first.Config.SFTP.HostKeyFiles[0])
	ca, _ := os.ReadFile(first.CAFile)

	// A second run reuses the host key and CA, so clients keep trusting the server.
	opts.Password = "chosen"
	second, err := Prepare(opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.Password != "chosen" {
		t.Fatalf("--password ignored: %q", second.Password)
	}
	hostKey2, _ := os.ReadFile(second.Config.SFTP.HostKeyFiles[0])
	ca2, _ := os.ReadFile(second.CAFile)
	if string(hostKey) != string(hostKey2) || string(ca) != string(ca2) {
		t.Fatal("a second run replaced the host key or the CA")
	}

	// The server certificate chains to the CA and names 127.0.0.1.
	certPEM, _ := os.ReadFile(second.Config.FTP.TLS.CertFile)
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca2)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"}); err != nil {
		t.Fatalf("server certificate does not verify against the CA for 127.0.0.1: %v", err)
	}
}

func TestPrepareAuthorizedKeysAndBadOptions(t *testing.T) {
	opts := options(t)
	keys := filepath.Join(t.TempDir(), "authorized_keys")
	content := "# a comment\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWEDEjTpHNYtcqK8Y6ZEVsiPOGJ4J38QEORXMAZWGNm me@host\n\n"
	if err := os.WriteFile(keys, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.AuthorizedKeysFile = keys
	p, err := Prepare(opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Config.Users[0].AuthorizedKeys; len(got) != 1 {
		t.Fatalf("authorized keys %v, want the one key line", got)
	}

	bad := options(t)
	bad.Root = filepath.Join(bad.Root, "missing")
	if _, err := Prepare(bad); err == nil {
		t.Fatal("a missing --root was accepted")
	}
	bad = options(t)
	bad.PassiveStart, bad.PassiveEnd = 40010, 40000
	if _, err := Prepare(bad); err == nil {
		t.Fatal("a reversed passive range was accepted")
	}
}

func TestReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want, wantErr string
	}{
		{"echo's newline is dropped", "s3cret-pw\n", "s3cret-pw", ""},
		{"a Windows line break too", "s3cret-pw\r\n", "s3cret-pw", ""},
		{"no line break", "s3cret-pw", "s3cret-pw", ""},
		{"spaces are part of the password", " two words \n", " two words ", ""},
		{"a blank line after it", "pw\n\n", "", "more than one line"},
		{"two lines", "pw\nother\n", "", "more than one line"},
		{"empty", "", "", "is empty"},
		{"only a line break", "\n", "", "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadPasswordFile(file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), file) {
					t.Fatalf("ReadPasswordFile(%q) = %q, %v; want an error naming the file and saying %q", tc.content, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ReadPasswordFile(%q) = %q, %v; want %q", tc.content, got, err, tc.want)
			}
		})
	}
	// Unreadable: missing, and a folder (root reads files whatever their mode, so a mode cannot make one unreadable).
	for _, file := range []string{filepath.Join(dir, "missing"), dir} {
		if _, err := ReadPasswordFile(file); err == nil || !strings.Contains(err.Error(), file) {
			t.Errorf("ReadPasswordFile(%s): %v, want an error naming the file", file, err)
		}
	}
}

func TestPreparePasswordSources(t *testing.T) {
	opts := options(t)
	opts.PasswordFile = filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(opts.PasswordFile, []byte("from-the-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Prepare(opts)
	if err != nil {
		t.Fatal(err)
	}
	if p.Password != "from-the-file" || p.PasswordGenerated {
		t.Fatalf("password %q (generated %v), want the file's", p.Password, p.PasswordGenerated)
	}
	if bcrypt.CompareHashAndPassword([]byte(p.Config.Users[0].PasswordHash), []byte("from-the-file")) != nil {
		t.Fatal("the config's hash is not of the file's password")
	}

	opts.Password = "also-given"
	if _, err := Prepare(opts); err == nil {
		t.Fatal("both a password and a password file were accepted")
	}

	opts = options(t)
	if p, err := Prepare(opts); err != nil || !p.PasswordGenerated {
		t.Fatalf("no password given: generated=%v, %v; want a generated one", p != nil && p.PasswordGenerated, err)
	}
}

// TestReadPasswordFileBounds: a password file that never ends (/dev/zero) or is too long is refused with a clear
// error instead of filling the memory. (Found by the independent check of issue 10.)
func TestReadPasswordFileBounds(t *testing.T) {
	if _, err := ReadPasswordFile("/dev/zero"); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("/dev/zero: %v, want refused as too long", err)
	}
	long := filepath.Join(t.TempDir(), "long")
	if err := os.WriteFile(long, []byte(strings.Repeat("x", 5000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPasswordFile(long); err == nil {
		t.Fatal("a 5000-byte password file was accepted")
	}
}

// prepared runs Prepare once and returns its result and the CA it made.
func prepared(t *testing.T, opts Options) (*Prepared, *pki.Pair) {
	t.Helper()
	p, err := Prepare(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p, loadPair(t, p.CAFile, filepath.Join(opts.StateDir, "ca.key"))
}

// The state folder's keys are for their owner only, and the CA signs this server's certificates only, for five
// years.
func TestPrepareCertificateFiles(t *testing.T) {
	opts := options(t)
	p, ca := prepared(t, opts)
	for file, want := range map[string]os.FileMode{filepath.Join(opts.StateDir, "ca.key"): 0o600,
		p.Config.FTP.TLS.KeyFile: 0o600, p.CAFile: 0o644, p.Config.FTP.TLS.CertFile: 0o644} {
		if info, err := os.Stat(file); err != nil || info.Mode().Perm() != want {
			t.Errorf("%s: %v, want mode %v", file, err, want)
		}
	}
	if !ca.Cert.MaxPathLenZero || ca.Cert.NotAfter.Before(time.Now().AddDate(5, 0, -1)) {
		t.Errorf("CA: max path length zero %v, valid until %s; want true and five years", ca.Cert.MaxPathLenZero, ca.Cert.NotAfter)
	}
}

// A server certificate with less than 7 days left is replaced under the same CA.
func TestPrepareRenewsServerCertificate(t *testing.T) {
	opts := options(t)
	p, ca := prepared(t, opts)
	tlsCert, tlsKey := p.Config.FTP.TLS.CertFile, p.Config.FTP.TLS.KeyFile
	now := time.Now()
	short, err := ca.Issue(pki.ServerTemplate("127.0.0.1", []string{"127.0.0.1"}, now.Add(-time.Hour), now.Add(6*24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if err := short.WriteFiles(tlsCert, tlsKey); err != nil {
		t.Fatal(err)
	}
	_, caAfter := prepared(t, opts)
	renewed := loadPair(t, tlsCert, tlsKey)
	if renewed.Cert.Equal(short.Cert) || renewed.Cert.CheckSignatureFrom(ca.Cert) != nil {
		t.Fatal("a server certificate with 6 days left was kept, or its successor is not signed by the same CA")
	}
	if !caAfter.Cert.Equal(ca.Cert) {
		t.Fatal("renewing the server certificate replaced the CA")
	}
}

// A CA with less than 30 days left is replaced, and so is the server certificate it signed.
func TestPrepareRenewsCA(t *testing.T) {
	opts := options(t)
	p, _ := prepared(t, opts)
	now := time.Now()
	old, err := pki.SelfSign(pki.CATemplate(pkix.Name{CommonName: "old"}, now.Add(-time.Hour), now.Add(29*24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if err := old.WriteFiles(p.CAFile, filepath.Join(opts.StateDir, "ca.key")); err != nil {
		t.Fatal(err)
	}
	_, newCA := prepared(t, opts)
	cert := loadPair(t, p.Config.FTP.TLS.CertFile, p.Config.FTP.TLS.KeyFile)
	if newCA.Cert.Equal(old.Cert) || cert.Cert.CheckSignatureFrom(newCA.Cert) != nil {
		t.Fatal("a CA with 29 days left was kept, or the server certificate is not signed by its successor")
	}
}

// A broken CA is an error that says what to do, not silently a new CA that clients do not trust.
func TestPrepareBrokenCA(t *testing.T) {
	opts := options(t)
	prepared(t, opts)
	if err := os.WriteFile(filepath.Join(opts.StateDir, "ca.key"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(opts); err == nil || !strings.Contains(err.Error(), "delete ca.crt and ca.key") {
		t.Fatalf("a broken CA key: %v, want an error saying how to start a new CA", err)
	}
}

func loadPair(t *testing.T, certFile, keyFile string) *pki.Pair {
	t.Helper()
	p, err := pki.LoadPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrepareAuthorizedKeysFile: --authorized-keys is read with the operator's rules. In particular a key with
// options (from=, command=...) is refused: pier-server has no per-key options, so serving the key would drop the
// restriction the file asks for and let the key in from anywhere.
func TestPrepareAuthorizedKeysFile(t *testing.T) {
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWEDEjTpHNYtcqK8Y6ZEVsiPOGJ4J38QEORXMAZWGNm"
	const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm1c7zLW9r6BORocz1SsEbjZK4JFG+EoSLC/UzzcQWS"
	for _, tc := range []struct {
		name, content string
		want          []string
		wantErr       []string
	}{
		{name: "comments, blank lines and CRLF", content: "# team\r\n\r\n" + key + " me@host\r\n  " + other + "  \r\n",
			want: []string{key + " me@host", other}},
		{name: "byte order mark", content: "\ufeff" + key + " me@host\n", want: []string{key + " me@host"}},
		{name: "the same key twice", content: key + " a\n" + key + " b\n", want: []string{key + " a"}},
		{name: "from option", content: key + " ok\nfrom=\"192.0.2.1\" " + other + "\n",
			wantErr: []string{"--authorized-keys", "line 2", "options (from)"}},
		{name: "command option", content: "command=\"/bin/false\" " + key + "\n",
			wantErr: []string{"--authorized-keys", "line 1", "options (command)"}},
		{name: "two keys on a line", content: key + " " + other + "\n",
			wantErr: []string{"--authorized-keys", "line 1", "more than one key"}},
		{name: "not a key", content: key + "\nssh-ed25519 nope\n", wantErr: []string{"--authorized-keys", "line 2", "not a public key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := options(t)
			opts.AuthorizedKeysFile = filepath.Join(t.TempDir(), "authorized_keys")
			if err := os.WriteFile(opts.AuthorizedKeysFile, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := Prepare(opts)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Prepare accepted the file and serves keys %q", p.Config.Users[0].AuthorizedKeys)
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Config.Users[0].AuthorizedKeys; strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("authorized keys\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
