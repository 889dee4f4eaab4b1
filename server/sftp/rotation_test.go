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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// keyscan returns the SHA256 fingerprints of the host keys OpenSSH's ssh-keyscan gets from the server at addr,
// asking for every type pier generates, sorted.
func keyscan(t *testing.T, addr string) []string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("ssh-keyscan", "-p", port, "-t", "ed25519,ecdsa,rsa", host).Output()
	if err != nil {
		t.Fatalf("ssh-keyscan: %v", err)
	}
	var fps []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// "[127.0.0.1]:PORT TYPE BASE64"
		_, key, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("ssh-keyscan printed %q", line)
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
		if err != nil {
			t.Fatalf("ssh-keyscan printed %q: %v", line, err)
		}
		fps = append(fps, ssh.FingerprintSHA256(pub))
	}
	slices.Sort(fps)
	return fps
}

// sorted returns the keys' fingerprints as the operator's status shows them, sorted.
func sorted(keys ...ssh.PublicKey) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, ssh.FingerprintSHA256(k))
	}
	slices.Sort(out)
	return out
}

// pinnedSFTP runs OpenSSH's sftp as alice against the server with only pinned in known_hosts, strictly, and
// returns its error and output.
func pinnedSFTP(t *testing.T, ts *testServer, keyFile string, pinned ssh.PublicKey) (string, error) {
	t.Helper()
	_, port, _ := net.SplitHostPort(ts.addr)
	batch := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(batch, []byte("pwd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(realclient.OpenSSHOptions(realclient.KnownHosts(t, ts.addr, pinned)), "-b", batch, "-P", port,
		"-i", keyFile, "-o", "IdentitiesOnly=yes", "alice@127.0.0.1")
	out, err := exec.Command("sftp", args...).CombinedOutput()
	return string(out), err
}

// The rotation the operator drives (docs/operator.md): the server serves the old key and a new one of another type
// at once, each client keeps the one it pinned, and once the old key's file leaves the config only the new one
// is served. ssh-keyscan shows exactly the fingerprints the operator's status would list.
func TestHostKeyRotationWithOpenSSH(t *testing.T) {
	realclient.Require(t, "ssh-keyscan", "sftp")
	ts := startServer(t)
	keyFile, _ := opensshAlice(t, ts, ts.addr)
	dir := t.TempDir()
	oldFile, newFile := filepath.Join(dir, "ssh_host_ed25519_key"), filepath.Join(dir, "ssh_host_ecdsa_key")
	oldKey := testcreds.WriteHostKeyOfType(t, oldFile, credentials.ED25519)
	newKey := testcreds.WriteHostKeyOfType(t, newFile, credentials.ECDSA)

	if err := ts.HostKeys.SetFiles([]string{oldFile}); err != nil {
		t.Fatal(err)
	}
	if got, want := keyscan(t, ts.addr), sorted(oldKey); !slices.Equal(got, want) {
		t.Fatalf("before the rotation ssh-keyscan sees %v, want %v", got, want)
	}

	// Step 1: the new key is served beside the old one.
	if err := ts.HostKeys.SetFiles([]string{oldFile, newFile}); err != nil {
		t.Fatal(err)
	}
	if got, want := keyscan(t, ts.addr), sorted(oldKey, newKey); !slices.Equal(got, want) {
		t.Fatalf("during the rotation ssh-keyscan sees %v, want both %v", got, want)
	}
	for name, pinned := range map[string]ssh.PublicKey{"old": oldKey, "new": newKey} {
		if out, err := pinnedSFTP(t, ts, keyFile, pinned); err != nil {
			t.Errorf("sftp pinned to the %s key failed during the rotation: %v\n%s", name, err, out)
		}
	}

	// Step 3: the old key is retired.
	if err := ts.HostKeys.SetFiles([]string{newFile}); err != nil {
		t.Fatal(err)
	}
	if got, want := keyscan(t, ts.addr), sorted(newKey); !slices.Equal(got, want) {
		t.Fatalf("after the rotation ssh-keyscan sees %v, want %v", got, want)
	}
	if out, err := pinnedSFTP(t, ts, keyFile, newKey); err != nil {
		t.Errorf("sftp pinned to the new key failed: %v\n%s", err, out)
	}
	if out, err := pinnedSFTP(t, ts, keyFile, oldKey); err == nil || !strings.Contains(out, "REMOTE HOST IDENTIFICATION HAS CHANGED") && !strings.Contains(out, "Host key verification failed") {
		t.Errorf("sftp pinned only to the retired key: %v\n%s; want a host-key failure", err, out)
	}
}
