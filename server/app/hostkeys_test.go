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

package app

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// hostKeyVolume is a mounted host-key Secret: one file per key, updated through the ..data swap.
type hostKeyVolume struct {
	secretVolume
	keys map[string]string // the files the volume shows now, by name
}

func newHostKeyVolume(t *testing.T) *hostKeyVolume {
	t.Helper()
	v := &hostKeyVolume{secretVolume: secretVolume{dir: filepath.Join(t.TempDir(), "host-keys")}}
	if err := os.Mkdir(v.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return v
}

// set makes the volume show exactly files, as the kubelet does after the Secret changed.
func (v *hostKeyVolume) set(t *testing.T, files map[string]string) {
	t.Helper()
	v.write(t, files)
	// The kubelet also removes the names the Secret no longer has; a dangling link would do the same to a
	// reader, but the real thing is tidier.
	for name := range v.keys {
		if _, ok := files[name]; !ok {
			if err := os.Remove(filepath.Join(v.dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	v.keys = files
}

func (v *hostKeyVolume) path(name string) string { return filepath.Join(v.dir, name) }

// newHostKey is a new ed25519 host key as OpenSSH PEM, and its public half.
func newHostKey(t *testing.T) (string, ssh.PublicKey) {
	t.Helper()
	priv, signer := testcreds.Ed25519(t)
	data, err := credentials.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return string(data), signer.PublicKey()
}

// openSSHPins lists alice's home with OpenSSH sftp and a password, with known_hosts pinning key alone and strict
// checking: it fails if the server presents any other key.
func (h *harness) openSSHPins(t *testing.T, key ssh.PublicKey) error {
	t.Helper()
	realclient.Require(t, "sftp", "sshpass")
	host, port, _ := net.SplitHostPort(h.sftpAddr)
	batch := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(batch, []byte("ls\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sshpass", realclient.PasswordSFTPArgs(realclient.KnownHosts(t, h.sftpAddr, key),
		"-b", batch, "-P", port, "alice@"+host)...)
	cmd.Env = append(os.Environ(), "SSHPASS=alice-pw")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("OpenSSH sftp pinning %s: %w\n%s", ssh.FingerprintSHA256(key), err, out)
	}
	return nil
}

// mustPresent fails the test unless the server presents key, to a Go client and to OpenSSH with key alone
// pinned; when says after what.
func (h *harness) mustPresent(t *testing.T, key ssh.PublicKey, when string) {
	t.Helper()
	if got := h.presented(t); !bytes.Equal(got.Marshal(), key.Marshal()) {
		t.Fatalf("%s the server presents %s, want %s", when, ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(key))
	}
	if err := h.openSSHPins(t, key); err != nil {
		t.Fatalf("%s: %v", when, err)
	}
}

// presented is the host key the server offers to a Go client now.
func (h *harness) presented(t *testing.T) ssh.PublicKey {
	t.Helper()
	var got ssh.PublicKey
	c, err := ssh.Dial("tcp", h.sftpAddr, &ssh.ClientConfig{
		User: "alice", Auth: []ssh.AuthMethod{ssh.Password("alice-pw")},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error { got = key; return nil },
		Timeout:         5 * time.Second,
	})
	if err != nil {
		t.Fatalf("logging in: %v", err)
	}
	_ = c.Close()
	return got
}

// A host-key Secret that is emptied (or whose files vanish for any other reason) must not change what clients
// see: the server keeps offering the keys it loaded, and OpenSSH with the key pinned keeps connecting. Keys that
// come back, or new ones, are picked up as before.
func TestHostKeysSurviveTheirFilesDisappearing(t *testing.T) {
	vol := newHostKeyVolume(t)
	pemA, keyA := newHostKey(t)
	vol.set(t, map[string]string{"ssh_host_ed25519_key": pemA})
	h := startWithHostKeys(t, userYAML(t, "alice", "alice-pw", ""), []string{vol.path("ssh_host_ed25519_key")}, nil)
	if err := h.openSSHPins(t, keyA); err != nil {
		t.Fatal(err)
	}

	vol.set(t, map[string]string{})
	if _, err := os.Stat(vol.path("ssh_host_ed25519_key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the key file is still there: %v", err)
	}
	for range 3 {
		if err := h.openSSHPins(t, keyA); err != nil {
			t.Fatalf("after the key file disappeared: %v", err)
		}
	}
	if !strings.Contains(h.logs.String(), "keeping the previous ones") {
		t.Error("the server did not log that it keeps its host keys")
	}

	// A rotation still works once a key is there again.
	pemB, keyB := newHostKey(t)
	vol.set(t, map[string]string{"ssh_host_ed25519_key": pemB})
	h.mustPresent(t, keyB, "after the new key arrived")
}

// In Kubernetes the config Secret reaches the server through the API about a second after it changes, while the
// kubelet refreshes the host-key volume a minute or so later. A config that names host key files not there yet
// must still be applied (its users must log in), with the keys in use kept until the files arrive; then the new
// keys are served, as the operator's status already says.
func TestConfigNamingHostKeysNotYetMounted(t *testing.T) {
	vol := newHostKeyVolume(t)
	pemA, keyA := newHostKey(t)
	vol.set(t, map[string]string{"old_key": pemA})
	h := startWithHostKeys(t, userYAML(t, "alice", "alice-pw", ""), []string{vol.path("old_key")}, nil)

	h.hostKeys = []string{vol.path("new_key")}
	h.setUsers(t, userYAML(t, "alice", "alice-pw", "")+userYAML(t, "bob", "bob-pw", ""))
	eventually(t, "bob logs in with the config that names the missing key file", func() error {
		return h.canLogIn("bob", "bob-pw")
	})
	if strings.Contains(h.logs.String(), "refused the new configuration") {
		t.Errorf("the config was refused because its host key files are not there yet:\n%s", h.logs)
	}
	if err := h.openSSHPins(t, keyA); err != nil {
		t.Fatalf("before the new key file arrived: %v", err)
	}

	pemB, keyB := newHostKey(t)
	vol.set(t, map[string]string{"new_key": pemB})
	h.mustPresent(t, keyB, "after the new key file arrived")
}
