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
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// withUploaders adds dropper (UploadOnly), mover (list, upload, rename) and updater (list, upload, overwrite,
// rename), all with home /drop, which holds existing.txt and other.txt.
func withUploaders(t *testing.T, ts *testServer) (home string, precious []byte) {
	t.Helper()
	user := func(name string, perms ...serverconfig.Permission) serverconfig.User {
		return serverconfig.User{Username: name, PasswordHash: testcreds.Hash(t, passwords[name]), HomeDirectory: "/drop",
			Permissions: perms}
	}
	ts.SetUsers(t, append(append([]serverconfig.User{}, ts.users...),
		user("dropper", serverconfig.PresetUploadOnly),
		user("mover", serverconfig.PermissionList, serverconfig.PermissionUpload, serverconfig.PermissionRename),
		user("updater", serverconfig.PermissionList, serverconfig.PermissionUpload, serverconfig.PermissionOverwrite, serverconfig.PermissionRename),
	))
	home = filepath.Join(ts.storage, "drop")
	precious = []byte("precious data that must survive\n")
	writeFile(t, home, "existing.txt", precious)
	writeFile(t, home, "other.txt", []byte("other"))
	return home, precious
}

// TestUploadOnlyCannotChangeExistingFiles is the report: an UploadOnly user emptied an existing file by uploading
// an empty one over it, and truncated one with setstat. Every way of changing an existing file over SFTP (open
// with TRUNC, open to resume, append, setstat size, posix-rename over it) must be refused with "permission
// denied", leaving the file as it was; new files still upload. A user with overwrite can do each of them.
func TestUploadOnlyCannotChangeExistingFiles(t *testing.T) {
	ts := startServer(t)
	home, precious := withUploaders(t, ts)
	c := ts.mustDial(t, "dropper")
	for name, op := range map[string]func() error{
		"open with TRUNC": func() error { _, err := c.Create("/existing.txt"); return err },
		"open to resume":  func() error { _, err := c.OpenFile("/existing.txt", os.O_WRONLY); return err },
		"open to append":  func() error { _, err := c.OpenFile("/existing.txt", os.O_WRONLY|os.O_APPEND); return err },
		"setstat size":    func() error { return c.Truncate("/existing.txt", 0) },
	} {
		if err := op(); !errors.Is(err, os.ErrPermission) {
			t.Errorf("%s: %v, want permission denied", name, err)
		}
	}
	if err := ts.mustDial(t, "mover").PosixRename("/other.txt", "/existing.txt"); !errors.Is(err, os.ErrPermission) {
		t.Errorf("posix-rename over it with rename but not overwrite: %v, want permission denied", err)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "existing.txt")); !bytes.Equal(got, precious) {
		t.Fatalf("a refused operation changed the file to %q", got)
	}

	upload(t, c, "/new.txt", []byte("new"))
	if _, err := c.Create("/new.txt"); !errors.Is(err, os.ErrPermission) {
		t.Errorf("open with TRUNC of the user's own upload: %v, want permission denied", err)
	}

	u := ts.mustDial(t, "updater")
	if err := u.Truncate("/existing.txt", 7); err != nil {
		t.Errorf("setstat size with overwrite: %v", err)
	}
	if err := u.PosixRename("/other.txt", "/existing.txt"); err != nil {
		t.Errorf("posix-rename over a file with overwrite: %v", err)
	}
	upload(t, u, "/new.txt", []byte("replaced"))
	if got, _ := os.ReadFile(filepath.Join(home, "existing.txt")); string(got) != "other" {
		t.Errorf("after posix-rename with overwrite the file holds %q", got)
	}
}

// TestOpenSSHCannotEmptyAFileWithoutOverwrite: the report's reproduction with OpenSSH's sftp.
func TestOpenSSHCannotEmptyAFileWithoutOverwrite(t *testing.T) {
	realclient.Require(t, "sftp", "sshpass")
	ts := startServer(t)
	home, precious := withUploaders(t, ts)
	knownHosts := knownHostsFile(t, ts.addr, ts.hostKeyFile)
	work := t.TempDir()
	empty := writeFile(t, work, "empty", nil)
	fresh := writeFile(t, work, "fresh", []byte("fresh"))
	_, port, _ := net.SplitHostPort(ts.addr)
	sftpAs := func(script string) ([]byte, error) {
		cmd := exec.Command("sshpass", realclient.PasswordSFTPArgs(knownHosts, "-b", "-", "-P", port, "dropper@127.0.0.1")...)
		cmd.Env = append(os.Environ(), "SSHPASS="+passwords["dropper"])
		cmd.Stdin = strings.NewReader(script)
		return cmd.CombinedOutput()
	}
	if out, err := sftpAs(fmt.Sprintf("put %s existing.txt\n", empty)); err == nil {
		t.Fatalf("sftp put an empty file over an existing one without overwrite:\n%s", out)
	} else if !strings.Contains(string(out), "ermission denied") {
		t.Errorf("sftp's error does not say permission denied:\n%s", out)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "existing.txt")); !bytes.Equal(got, precious) {
		t.Fatalf("the file was changed to %q", got)
	}
	if out, err := sftpAs(fmt.Sprintf("put %s fresh.txt\n", fresh)); err != nil {
		t.Fatalf("sftp put of a new file: %v\n%s", err, out)
	}
}
