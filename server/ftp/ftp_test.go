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
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/pier-dev/pier/internal/testsupport/payload"
)

// roundTrip uploads n random bytes as name and downloads them again, failing the test if anything differs.
func roundTrip(t *testing.T, c *ftp.ServerConn, name string, n int) {
	t.Helper()
	data := payload.Random(n)
	if err := c.Stor(name, bytes.NewReader(data)); err != nil {
		t.Fatalf("STOR %s: %v", name, err)
	}
	if got := retrieve(t, c, name, 0); !bytes.Equal(got, data) {
		t.Fatalf("the round trip of %s differs: %d bytes back, %d sent", name, len(got), len(data))
	}
}

func retrieve(t *testing.T, c *ftp.ServerConn, name string, offset uint64) []byte {
	t.Helper()
	resp, err := c.RetrFrom(name, offset)
	if err != nil {
		t.Fatalf("RETR %s from %d: %v", name, offset, err)
	}
	data, err := io.ReadAll(resp)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	if err := resp.Close(); err != nil {
		t.Fatalf("closing the download of %s: %v", name, err)
	}
	return data
}

// TestRoundTrips uploads and downloads files of several sizes over explicit FTPS with session reuse required,
// and checks both the download and the file on disk byte for byte.
func TestRoundTrips(t *testing.T) {
	ts := startServer(t)
	c := ts.login(t, "alice")
	for _, size := range []int{0, 1, 1 << 20, 3<<20 + 7} {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) {
			data := payload.Random(size)
			name := fmt.Sprintf("file-%d.bin", size)
			if err := c.Stor(name, bytes.NewReader(data)); err != nil {
				t.Fatalf("STOR: %v", err)
			}
			// The file was closed, and so synced (vfs syncs in Close, which then logs the transfer), before
			// the server said "226": the line is there the moment the client hears it.
			if !slices.Contains(ts.log.lines(), transferLine{"upload", "/" + name, "ok", "alice"}) {
				t.Fatalf("the upload was not closed and logged before 226: %v", ts.log.lines())
			}
			onDisk, err := os.ReadFile(filepath.Join(ts.home("alice"), name))
			if err != nil || !bytes.Equal(onDisk, data) {
				t.Fatalf("the file on disk differs from the upload (err %v, %d bytes)", err, len(onDisk))
			}
			if got := retrieve(t, c, name, 0); !bytes.Equal(got, data) {
				t.Fatalf("download differs: %d bytes, want %d", len(got), len(data))
			}
			size2, err := c.FileSize(name)
			if err != nil || size2 != int64(size) {
				t.Fatalf("SIZE = %d, %v; want %d", size2, err, size)
			}
		})
	}
}

// TestResume resumes an upload with REST+STOR and with APPE, and a download with REST+RETR.
func TestResume(t *testing.T) {
	ts := startServer(t)
	c := ts.login(t, "alice")
	data := payload.Random(2<<20 + 11)
	half := len(data) / 2
	onDisk := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(ts.home("alice"), name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// An interrupted upload, resumed where the server's copy ends.
	if err := c.Stor("resume.bin", bytes.NewReader(data[:half])); err != nil {
		t.Fatal(err)
	}
	size, err := c.FileSize("resume.bin")
	if err != nil || size != int64(half) {
		t.Fatalf("SIZE = %d, %v; want %d", size, err, half)
	}
	if err := c.StorFrom("resume.bin", bytes.NewReader(data[size:]), uint64(size)); err != nil {
		t.Fatalf("REST+STOR: %v", err)
	}
	if !bytes.Equal(onDisk("resume.bin"), data) {
		t.Fatal("REST+STOR: the file differs from the original")
	}

	// Resuming from an earlier point replaces everything after it.
	if err := c.StorFrom("resume.bin", bytes.NewReader(data[1000:2000]), 1000); err != nil {
		t.Fatal(err)
	}
	if got := onDisk("resume.bin"); !bytes.Equal(got, data[:2000]) {
		t.Fatalf("REST 1000 + 1000 bytes left %d bytes, want the first 2000 of the original", len(got))
	}

	// A restart point beyond the end is refused and leaves the file alone.
	if err := c.StorFrom("resume.bin", bytes.NewReader([]byte("x")), 1<<30); err == nil {
		t.Fatal("REST beyond the end of the file was accepted for STOR")
	}
	if got := onDisk("resume.bin"); len(got) != 2000 {
		t.Fatalf("a refused resume changed the file to %d bytes", len(got))
	}

	// APPE.
	if err := c.Stor("append.bin", bytes.NewReader(data[:half])); err != nil {
		t.Fatal(err)
	}
	if err := c.Append("append.bin", bytes.NewReader(data[half:])); err != nil {
		t.Fatalf("APPE: %v", err)
	}
	if !bytes.Equal(onDisk("append.bin"), data) {
		t.Fatal("APPE: the file differs from the original")
	}
	if err := c.Append("new-by-append.bin", bytes.NewReader(data[:10])); err != nil {
		t.Fatalf("APPE to a new file: %v", err)
	}

	// REST+RETR.
	for _, offset := range []int{0, 1, half, len(data) - 1, len(data)} {
		if got := retrieve(t, c, "append.bin", uint64(offset)); !bytes.Equal(got, data[offset:]) {
			t.Fatalf("REST %d + RETR returned %d bytes, want %d", offset, len(got), len(data)-offset)
		}
	}
}

// TestMLSDLargeDirectory lists a directory of 10,000 entries with MLSD.
func TestMLSDLargeDirectory(t *testing.T) {
	ts := startServer(t)
	const n = 10_000
	dir := filepath.Join(ts.home("alice"), "big")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("entry-%05d", i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.login(t, "alice")
	entries, err := c.List("/big") // MLSD, since the server announces MLST
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Type != ftp.EntryTypeFile {
			t.Fatalf("entry %q has type %v", e.Name, e.Type)
		}
		seen[e.Name] = true
	}
	if len(entries) != n || len(seen) != n || !seen["entry-00000"] || !seen[fmt.Sprintf("entry-%05d", n-1)] {
		t.Fatalf("MLSD returned %d entries (%d distinct), want %d", len(entries), len(seen), n)
	}
	names, err := c.NameList("/big")
	if err != nil || len(names) != n {
		t.Fatalf("NLST returned %d names, %v", len(names), err)
	}
}

// TestCommands exercises the commands clients use besides transfers: directories, UTF-8 names, MDTM/MFMT,
// rename and delete.
func TestCommands(t *testing.T) {
	ts := startServer(t)
	c := ts.login(t, "alice")
	if err := c.MakeDir("dir"); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangeDir("dir"); err != nil {
		t.Fatal(err)
	}
	if cwd, err := c.CurrentDir(); err != nil || cwd != "/dir" {
		t.Fatalf("PWD = %q, %v", cwd, err)
	}
	const name = "ünïcødé 文件.txt"
	if err := c.Stor(name, bytes.NewReader([]byte("utf-8"))); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(ts.home("alice"), "dir", name)); err != nil || string(got) != "utf-8" {
		t.Fatalf("UTF-8 name on disk: %q, %v", got, err)
	}
	entries, err := c.List(".")
	if err != nil || len(entries) != 1 || entries[0].Name != name {
		t.Fatalf("listing: %v, %v", entries, err)
	}
	stamp := time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := c.SetTime(name, stamp); err != nil {
		t.Fatalf("MFMT: %v", err)
	}
	if got, err := c.GetTime(name); err != nil || !got.Equal(stamp) {
		t.Fatalf("MDTM = %v, %v; want %v", got, err, stamp)
	}
	if err := c.Rename(name, "renamed.txt"); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangeDirToParent(); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveDir("dir"); err == nil {
		t.Fatal("RMD removed a directory that is not empty")
	}
	if err := c.Delete("dir/renamed.txt"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveDir("dir"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ts.home("alice"), "dir")); !os.IsNotExist(err) {
		t.Fatalf("the directory is still there: %v", err)
	}

}

// TestRawCommands checks what the Go client does not send: FEAT, OPTS UTF8, MLST, SIZE, SITE, AVBL, STAT, and
// PASV (also through the Go client).
func TestRawCommands(t *testing.T) {
	ts := startServer(t)
	writeHomeFile(t, ts, "alice", "f.txt", []byte("12345"))
	raw := rawLogin(t, ts, ts.addr)
	feat := raw.expect(211, "FEAT")
	for _, f := range []string{"UTF8", "MLST", "MLSD", "EPSV", "EPRT", "REST STREAM", "SIZE", "MDTM", "MFMT", "AUTH TLS", "PROT", "AVBL"} {
		if !strings.Contains(feat, f) {
			t.Errorf("FEAT does not list %s:\n%s", f, feat)
		}
	}
	raw.expect(200, "OPTS UTF8 ON")
	if msg := raw.expect(250, "MLST f.txt"); !strings.Contains(msg, "Type=file;Size=5;") {
		t.Errorf("MLST: %q", msg)
	}
	if msg := raw.expect(213, "SIZE f.txt"); msg != "5" {
		t.Errorf("SIZE: %q", msg)
	}
	raw.expect(200, "SITE CHMOD 600 f.txt")
	if info, err := os.Stat(filepath.Join(ts.home("alice"), "f.txt")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("after SITE CHMOD 600: %v, %v", info.Mode(), err)
	}
	raw.expect(501, "SITE CHMOD 600")
	raw.expect(501, "SITE CHMOD 4755 f.txt")
	raw.expect(502, "SITE SYMLINK f.txt g.txt")
	raw.expect(502, "SITE RMDIR /")
	raw.expect(213, "AVBL")
	raw.expect(211, "STAT")
	raw.expect(200, "PBSZ 0")
	raw.expect(200, "PROT P")
	host, port := raw.pasv()
	if host != "127.0.0.1" || !ts.settings.PassivePorts.Contains(port) {
		t.Fatalf("PASV announced %s:%d, want 127.0.0.1 and a port in %v", host, port, ts.settings.PassivePorts)
	}

	// The Go client with PASV instead of EPSV.
	pasv := ts.login(t, "alice", ftp.DialWithDisabledEPSV(true))
	if got := retrieve(t, pasv, "f.txt", 0); string(got) != "12345" {
		t.Fatalf("RETR over PASV: %q", got)
	}
}

// TestDriverRecoversPanics: a panic inside a request becomes an error reply for that request.
func TestDriverRecoversPanics(t *testing.T) {
	c := &clientDriver{log: slog.New(slog.DiscardHandler)} // no jail: every request dereferences nil
	if err := c.Mkdir("/x", 0); err == nil || !strings.Contains(err.Error(), "internal error") {
		t.Fatalf("Mkdir without a jail: %v, want an internal error", err)
	}
	if _, err := c.GetHandle("/x", os.O_RDONLY, 0); err == nil {
		t.Fatal("GetHandle without a jail succeeded")
	}
}
