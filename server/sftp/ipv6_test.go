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
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// TestOpenSSHOverIPv6 drives OpenSSH's sftp against [::1] (user@[::1], the host key pinned for [::1]:port) with a
// key and, through sshpass, with a password, and scp; every upload and download is compared byte for byte.
func TestOpenSSHOverIPv6(t *testing.T) {
	realclient.Require(t, "sftp", "scp", "sshpass")
	ts := startServer(t)
	addr := ts.listenIPv6(t)
	_, port, _ := net.SplitHostPort(addr)
	keyFile, knownHosts := opensshAlice(t, ts, addr)

	work := t.TempDir()
	data := payload.Random(1<<20 + 19)
	local := filepath.Join(work, "payload.bin")
	if err := os.WriteFile(local, data, 0o600); err != nil {
		t.Fatal(err)
	}
	batch := func(name string, lines ...string) string {
		file := filepath.Join(work, name)
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	onServer := func(name string) []byte {
		got, _ := os.ReadFile(filepath.Join(ts.storage, "alice", name))
		return got
	}

	keyArgs := append(realclient.OpenSSHOptions(knownHosts), "-b", batch("key-batch", "put "+local+" key6.bin",
		"get key6.bin "+filepath.Join(work, "key6-back.bin")),
		"-P", port, "-i", keyFile, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "alice@[::1]")
	if out, err := exec.Command("sftp", keyArgs...).CombinedOutput(); err != nil {
		t.Fatalf("sftp with a key over IPv6: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(work, "key6-back.bin")); !bytes.Equal(got, data) || !bytes.Equal(onServer("key6.bin"), data) {
		t.Fatal("the sftp round trip with a key over IPv6 differs")
	}

	pwArgs := realclient.PasswordSFTPArgs(knownHosts,
		"-b", batch("pw-batch", "put "+local+" pw6.bin", "get pw6.bin "+filepath.Join(work, "pw6-back.bin")),
		"-P", port, "alice@[::1]")
	cmd := exec.Command("sshpass", pwArgs...)
	cmd.Env = append(os.Environ(), "SSHPASS="+passwords["alice"])
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sftp with a password over IPv6: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(work, "pw6-back.bin")); !bytes.Equal(got, data) || !bytes.Equal(onServer("pw6.bin"), data) {
		t.Fatal("the sftp round trip with a password over IPv6 differs")
	}
	cmd = exec.Command("sshpass", pwArgs...)
	cmd.Env = append(os.Environ(), "SSHPASS=wrong-password")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("sftp over IPv6 with a wrong password succeeded:\n%s", out)
	}

	scpBack := filepath.Join(work, "scp6-back.bin")
	for _, args := range [][]string{{local, "alice@[::1]:scp6.bin"}, {"alice@[::1]:scp6.bin", scpBack}} {
		scpArgs := append(realclient.OpenSSHOptions(knownHosts), append([]string{"-P", port, "-i", keyFile, "-o", "BatchMode=yes"}, args...)...)
		if out, err := exec.Command("scp", scpArgs...).CombinedOutput(); err != nil {
			t.Fatalf("scp %v over IPv6: %v\n%s", args, err, out)
		}
	}
	if got, _ := os.ReadFile(scpBack); !bytes.Equal(got, data) || !bytes.Equal(onServer("scp6.bin"), data) {
		t.Fatal("the scp round trip over IPv6 differs")
	}
}

// TestCurlSFTPOverIPv6 drives curl's SFTP client (libssh2) against sftp://[::1]:port with the host key pinned.
func TestCurlSFTPOverIPv6(t *testing.T) {
	realclient.Require(t, "curl")
	ts := startServer(t)
	addr := ts.listenIPv6(t)
	fingerprint := ts.curlFingerprint(t)
	work := t.TempDir()
	data := payload.Random(1<<20 + 23)
	local := writeFile(t, work, "payload.bin", data)
	url := "sftp://" + addr + "/~/curl6.bin"
	// -g: the brackets of [::1] are the URL's, not a glob.
	base := []string{"-g", "--silent", "--show-error", "--fail", "--user", "alice:" + passwords["alice"], "--hostpubsha256", fingerprint}
	if out, err := exec.Command("curl", append(base, "-T", local, url)...).CombinedOutput(); err != nil {
		t.Fatalf("curl sftp upload over IPv6: %v\n%s", err, out)
	}
	back := filepath.Join(work, "back.bin")
	if out, err := exec.Command("curl", append(base, "-o", back, url)...).CombinedOutput(); err != nil {
		t.Fatalf("curl sftp download over IPv6: %v\n%s", err, out)
	}
	onServer, _ := os.ReadFile(filepath.Join(ts.storage, "alice", "curl6.bin"))
	if got, _ := os.ReadFile(back); !bytes.Equal(got, data) || !bytes.Equal(onServer, data) {
		t.Fatal("the curl sftp round trip over IPv6 differs")
	}
}

// TestGoClientOverIPv6: the Go SSH and SFTP clients over [::1], with a password and with a key, upload and
// download the same bytes.
func TestGoClientOverIPv6(t *testing.T) {
	ts := startServer(t)
	addr := ts.listenIPv6(t)
	data := payload.Random(2<<20 + 29)
	for name, method := range map[string]ssh.AuthMethod{
		"password": ssh.Password(passwords["alice"]),
		"key":      ssh.PublicKeys(ts.clientKey),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := ts.dialAt(t, addr, "alice", method)
			if err != nil {
				t.Fatalf("logging in over IPv6: %v", err)
			}
			f, err := c.Create("go6-" + name + ".bin")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(data); err != nil {
				t.Fatalf("uploading: %v", err)
			}
			if err := f.Close(); err != nil {
				t.Fatalf("closing the upload: %v", err)
			}
			r, err := c.Open("go6-" + name + ".bin")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			_ = r.Close()
			onServer, _ := os.ReadFile(filepath.Join(ts.storage, "alice", "go6-"+name+".bin"))
			if err != nil || !bytes.Equal(got, data) || !bytes.Equal(onServer, data) {
				t.Fatalf("the round trip over IPv6 differs (%v)", err)
			}
		})
	}
}
