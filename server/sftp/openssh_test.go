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
	"bytes"
	"crypto"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// opensshFiles writes what an OpenSSH client needs to talk to ts at addr: alice's private key and a known_hosts
// file pinning the server's host key, so host key checking stays strict.
func opensshFiles(t *testing.T, ts *testServer, addr string, priv crypto.Signer) (keyFile, knownHosts string) {
	t.Helper()
	data, err := credentials.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(keyFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile, knownHostsFile(t, addr, ts.hostKeyFile)
}

// opensshAlice replaces alice's key with one whose private half OpenSSH can use, and returns what an OpenSSH
// client needs to talk to ts at addr as her (see opensshFiles).
func opensshAlice(t *testing.T, ts *testServer, addr string) (keyFile, knownHosts string) {
	t.Helper()
	priv, signer := testcreds.Ed25519(t)
	users := append([]serverconfig.User{}, ts.users...)
	users[0].AuthorizedKeys = []string{string(ssh.MarshalAuthorizedKey(signer.PublicKey()))}
	ts.SetUsers(t, users)
	return opensshFiles(t, ts, addr, priv)
}

// knownHostsFile writes a known_hosts file pinning the host key in hostKeyFile for the server at addr.
func knownHostsFile(t *testing.T, addr, hostKeyFile string) string {
	t.Helper()
	hostKey, err := loadHostKey(hostKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return realclient.KnownHosts(t, addr, hostKey.PublicKey())
}

// TestOpenSSHClients drives OpenSSH's sftp (batch mode, with a key and with a password through sshpass) and scp.
func TestOpenSSHClients(t *testing.T) {
	realclient.Require(t, "sftp", "scp", "sshpass")
	ts := startServer(t)
	_, port, _ := net.SplitHostPort(ts.addr)
	keyFile, knownHosts := opensshAlice(t, ts, ts.addr)

	work := t.TempDir()
	data := payload.Random(1<<20 + 7)
	local := filepath.Join(work, "payload.bin")
	if err := os.WriteFile(local, data, 0o600); err != nil {
		t.Fatal(err)
	}
	batch := filepath.Join(work, "batch")
	script := strings.Join([]string{
		"mkdir incoming",
		"put " + local + " incoming/payload.bin",
		"rename incoming/payload.bin incoming/renamed.bin",
		"ls -l incoming",
		"get incoming/renamed.bin " + filepath.Join(work, "back.bin"),
		"df -h",
	}, "\n") + "\n"
	if err := os.WriteFile(batch, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}

	args := append(realclient.OpenSSHOptions(knownHosts), "-b", batch, "-P", port, "-i", keyFile,
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "alice@127.0.0.1")
	if out, err := exec.Command("sftp", args...).CombinedOutput(); err != nil {
		t.Fatalf("sftp with a key failed: %v\n%s", err, out)
	}
	back, err := os.ReadFile(filepath.Join(work, "back.bin"))
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("sftp round trip differs (%v)", err)
	}
	onServer, _ := os.ReadFile(filepath.Join(ts.storage, "alice", "incoming", "renamed.bin"))
	if !bytes.Equal(onServer, data) {
		t.Fatal("the file on the server differs from what sftp uploaded")
	}

	// Password login through sshpass; a wrong password fails with an error exit.
	pwBatch := filepath.Join(work, "pw-batch")
	if err := os.WriteFile(pwBatch, []byte("ls\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pwArgs := realclient.PasswordSFTPArgs(knownHosts, "-b", pwBatch, "-P", port, "alice@127.0.0.1")
	cmd := exec.Command("sshpass", pwArgs...)
	cmd.Env = append(os.Environ(), "SSHPASS="+passwords["alice"])
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sftp with a password failed: %v\n%s", err, out)
	}
	cmd = exec.Command("sshpass", pwArgs...)
	cmd.Env = append(os.Environ(), "SSHPASS=wrong-password")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("sftp with a wrong password succeeded:\n%s", out)
	}

	// scp from OpenSSH 9 speaks SFTP.
	scpArgs := append(realclient.OpenSSHOptions(knownHosts), "-P", port, "-i", keyFile, "-o", "BatchMode=yes",
		local, "alice@127.0.0.1:scp.bin")
	if out, err := exec.Command("scp", scpArgs...).CombinedOutput(); err != nil {
		t.Fatalf("scp upload failed: %v\n%s", err, out)
	}
	scpBack := filepath.Join(work, "scp-back.bin")
	scpArgs = append(realclient.OpenSSHOptions(knownHosts), "-P", port, "-i", keyFile, "-o", "BatchMode=yes",
		"alice@127.0.0.1:scp.bin", scpBack)
	if out, err := exec.Command("scp", scpArgs...).CombinedOutput(); err != nil {
		t.Fatalf("scp download failed: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(scpBack); !bytes.Equal(got, data) {
		t.Fatal("scp round trip differs")
	}

	// A shell is refused with the explanation.
	sshArgs := append(realclient.OpenSSHOptions(knownHosts), "-p", port, "-i", keyFile, "-o", "BatchMode=yes", "alice@127.0.0.1", "id")
	out, err := exec.Command("ssh", sshArgs...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "pier serves SFTP only") {
		t.Fatalf("ssh command: err=%v output=%q, want a refusal that explains itself", err, out)
	}
}

// TestCurlSFTP drives curl's SFTP client (libssh2): password login with the host key pinned by its SHA256
// fingerprint, an upload and a download.
func TestCurlSFTP(t *testing.T) {
	realclient.Require(t, "curl")
	ts := startServer(t)
	fingerprint := ts.curlFingerprint(t)
	work := t.TempDir()
	data := payload.Random(1<<20 + 3)
	local := writeFile(t, work, "payload.bin", data)
	url := "sftp://" + ts.addr + "/~/curl.bin"
	base := []string{"--silent", "--show-error", "--fail", "--user", "alice:" + passwords["alice"], "--hostpubsha256", fingerprint}
	if out, err := exec.Command("curl", append(base, "-T", local, url)...).CombinedOutput(); err != nil {
		t.Fatalf("curl sftp upload: %v\n%s", err, out)
	}
	back := filepath.Join(work, "back.bin")
	if out, err := exec.Command("curl", append(base, "-o", back, url)...).CombinedOutput(); err != nil {
		t.Fatalf("curl sftp download: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
		t.Fatal("curl sftp round trip differs")
	}
	// A wrong pinned fingerprint must make curl refuse the server.
	wrong := append([]string{"--silent", "--user", "alice:" + passwords["alice"], "--hostpubsha256",
		strings.Repeat("A", 43)}, "-o", filepath.Join(work, "x"), url)
	if err := exec.Command("curl", wrong...).Run(); err == nil {
		t.Fatal("curl accepted a host key that does not match the pinned fingerprint")
	}
}

// TestOpenSSHCiphers pins what OpenSSH's sftp negotiates: with no cipher option, aes128-ctr with
// hmac-sha2-256-etm (chacha20-poly1305, its first choice, is not offered: server.go says why); each offered
// cipher moves a file intact; asking for chacha20-poly1305 alone fails with OpenSSH's own message.
func TestOpenSSHCiphers(t *testing.T) {
	realclient.Require(t, "sftp")
	ts := startServer(t)
	_, port, _ := net.SplitHostPort(ts.addr)
	keyFile, knownHosts := opensshAlice(t, ts, ts.addr)
	work := t.TempDir()
	data := payload.Random(300<<10 + 11)
	local := writeFile(t, work, "payload.bin", data)
	batch := writeFile(t, work, "batch", []byte("put "+local+" cipher.bin\nget cipher.bin "+filepath.Join(work, "back.bin")+"\n"))
	run := func(extra ...string) ([]byte, error) {
		args := append(realclient.OpenSSHOptions(knownHosts), extra...)
		args = append(args, "-v", "-b", batch, "-P", port, "-i", keyFile, "-o", "BatchMode=yes",
			"-o", "IdentitiesOnly=yes", "alice@127.0.0.1")
		return exec.Command("sftp", args...).CombinedOutput()
	}

	out, err := run()
	if err != nil {
		t.Fatalf("sftp with its default ciphers failed: %v\n%s", err, out)
	}
	const want = "server->client cipher: aes128-ctr MAC: hmac-sha2-256-etm@openssh.com"
	if !strings.Contains(string(out), want) {
		t.Errorf("OpenSSH's defaults did not negotiate %q:\n%s", want, out)
	}

	for _, cipher := range []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr"} {
		_ = os.Remove(filepath.Join(work, "back.bin"))
		if out, err := run("-o", "Ciphers="+cipher); err != nil {
			t.Errorf("sftp with %s failed: %v\n%s", cipher, err, out)
			continue
		}
		back, err := os.ReadFile(filepath.Join(work, "back.bin"))
		onServer, _ := os.ReadFile(filepath.Join(ts.storage, "alice", "cipher.bin"))
		if err != nil || !bytes.Equal(back, data) || !bytes.Equal(onServer, data) {
			t.Errorf("%s: the round trip differs from what was sent (%v)", cipher, err)
		}
	}

	out, err = run("-o", "Ciphers=chacha20-poly1305@openssh.com")
	if err == nil || !strings.Contains(string(out), "no matching cipher found") {
		t.Errorf("sftp offering only chacha20-poly1305 = %v, want OpenSSH's \"no matching cipher found\":\n%s", err, out)
	}
}
