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

package ftp

import (
	"bytes"
	"fmt"
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
// rename), all with home /drop.
func withUploaders(t *testing.T, ts *testServer) {
	t.Helper()
	users := append(testUsers(t),
		serverconfig.User{Username: "dropper", PasswordHash: testcreds.Hash(t, passwords["dropper"]), HomeDirectory: "/drop",
			Permissions: []serverconfig.Permission{serverconfig.PresetUploadOnly}},
		serverconfig.User{Username: "mover", PasswordHash: testcreds.Hash(t, passwords["mover"]), HomeDirectory: "/drop",
			Permissions: []serverconfig.Permission{serverconfig.PermissionList, serverconfig.PermissionUpload, serverconfig.PermissionRename}},
		serverconfig.User{Username: "updater", PasswordHash: testcreds.Hash(t, passwords["updater"]), HomeDirectory: "/drop",
			Permissions: []serverconfig.Permission{serverconfig.PermissionList, serverconfig.PermissionUpload, serverconfig.PermissionOverwrite,
				serverconfig.PermissionRename}},
	)
	ts.SetUsers(t, users)
}

// TestUploadOnlyCannotChangeExistingFiles is the report: an UploadOnly user emptied an existing file by uploading
// an empty one over it. Every way of changing an existing file over FTP (STOR over it, APPE, REST+STOR, RNTO
// over it) must be refused with 550 naming the overwrite permission, leaving the file as it was; new files still
// upload. A user with overwrite can do each of them.
func TestUploadOnlyCannotChangeExistingFiles(t *testing.T) {
	ts := startServer(t)
	withUploaders(t, ts)
	home := filepath.Join(ts.storage, "drop")
	precious := []byte("precious data that must survive\n")
	writeHomeFile(t, ts, "alice", "../drop/existing.txt", precious)
	writeHomeFile(t, ts, "alice", "../drop/other.txt", []byte("other"))
	c := ts.login(t, "dropper")

	for name, op := range map[string]func() error{
		"STOR an empty file over it": func() error { return c.Stor("existing.txt", bytes.NewReader(nil)) },
		"STOR over it":               func() error { return c.Stor("existing.txt", strings.NewReader("replaced")) },
		"APPE":                       func() error { return c.Append("existing.txt", strings.NewReader("more")) },
		"REST+STOR":                  func() error { return c.StorFrom("existing.txt", strings.NewReader("tail"), 7) },
	} {
		err := op()
		if replyCode(err) != 550 || !strings.Contains(err.Error(), "overwrite") {
			t.Errorf("%s: %v, want 550 naming the overwrite permission", name, err)
		}
	}
	// Renaming over a file needs overwrite as well as rename.
	if err := ts.login(t, "mover").Rename("other.txt", "existing.txt"); replyCode(err) != 550 || !strings.Contains(err.Error(), "overwrite") {
		t.Errorf("RNTO over it with rename but not overwrite: %v, want 550 naming the overwrite permission", err)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "existing.txt")); !bytes.Equal(got, precious) {
		t.Fatalf("a refused upload changed the file to %q", got)
	}

	// New files upload, once: the uploader cannot change them either.
	if err := c.Stor("new.txt", strings.NewReader("new")); err != nil {
		t.Fatalf("STOR of a new file: %v", err)
	}
	if err := c.Stor("new.txt", bytes.NewReader(nil)); replyCode(err) != 550 {
		t.Errorf("STOR over the user's own upload: %v, want 550", err)
	}
	if err := c.Append("appended-new.txt", strings.NewReader("a")); err != nil {
		t.Errorf("APPE creating a new file: %v", err)
	}
	// A refused resume of a file that does not exist creates nothing the user could then not replace.
	if err := c.StorFrom("missing.txt", strings.NewReader("x"), 5); err == nil {
		t.Error("REST+STOR of a missing file succeeded")
	}
	if _, err := os.Stat(filepath.Join(home, "missing.txt")); !os.IsNotExist(err) {
		t.Errorf("a refused REST+STOR left a file behind: %v", err)
	}

	// With overwrite (and rename), each of them works.
	u := ts.login(t, "updater")
	if err := u.Append("existing.txt", strings.NewReader("more")); err != nil {
		t.Errorf("APPE with overwrite: %v", err)
	}
	if err := u.StorFrom("existing.txt", strings.NewReader("X"), 3); err != nil {
		t.Errorf("REST+STOR with overwrite: %v", err)
	}
	if err := u.Rename("other.txt", "existing.txt"); err != nil {
		t.Errorf("RNTO over a file with overwrite and rename: %v", err)
	}
	if err := u.Stor("new.txt", strings.NewReader("replaced")); err != nil {
		t.Errorf("STOR over a file with overwrite: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "existing.txt")); string(got) != "other" {
		t.Errorf("after RNTO with overwrite the file holds %q, want the renamed one", got)
	}
}

// TestCurlCannotEmptyAFileWithoutOverwrite: the report's reproduction with a real client.
func TestCurlCannotEmptyAFileWithoutOverwrite(t *testing.T) {
	realclient.Require(t, "curl")
	ts := startServer(t)
	withUploaders(t, ts)
	precious := []byte("precious")
	writeHomeFile(t, ts, "alice", "../drop/existing.txt", precious)
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("ftp://dropper:%s@127.0.0.1:%s/existing.txt", passwords["dropper"], portOf(t, ts.addr))
	out, err := exec.Command("curl", "--silent", "--show-error", "--fail", "--ssl-reqd", "--cacert", ts.ca.CAFile,
		"-T", empty, url).CombinedOutput()
	if err == nil {
		t.Fatalf("curl uploaded an empty file over an existing one without overwrite:\n%s", out)
	}
	if got, _ := os.ReadFile(filepath.Join(ts.storage, "drop", "existing.txt")); !bytes.Equal(got, precious) {
		t.Fatalf("the file was changed to %q", got)
	}
}

// TestFailedUploadLeavesTheFileAsItWas: STOR and REST+STOR whose data connection never carries data (here it is
// refused because the client does not resume its TLS session) must not have emptied or cut the existing file:
// the server replaces the old content only once the new content arrives.
func TestFailedUploadLeavesTheFileAsItWas(t *testing.T) {
	ts := startServer(t)
	precious := []byte("precious data that must survive a failed upload\n")
	writeHomeFile(t, ts, "alice", "existing.txt", precious)
	noReuse := ts.clientTLS()
	noReuse.ClientSessionCache = nil // the data connection's handshake is refused
	c, err := ts.dial(t, noReuse)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("alice", passwords["alice"]); err != nil {
		t.Fatal(err)
	}
	if err := c.Stor("existing.txt", strings.NewReader("new")); err == nil {
		t.Fatal("STOR without TLS session reuse succeeded")
	}
	if err := c.StorFrom("existing.txt", strings.NewReader("new"), 8); err == nil {
		t.Fatal("REST+STOR without TLS session reuse succeeded")
	}
	if got, _ := os.ReadFile(filepath.Join(ts.home("alice"), "existing.txt")); !bytes.Equal(got, precious) {
		t.Fatalf("a failed upload changed the file to %q", got)
	}

	// An upload that succeeds with no data at all does empty the file, as the client asked.
	ok := ts.login(t, "alice")
	if err := ok.Stor("existing.txt", bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(ts.home("alice"), "existing.txt")); len(got) != 0 {
		t.Fatalf("an empty upload left %q", got)
	}
}
