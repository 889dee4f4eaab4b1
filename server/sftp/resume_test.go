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
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pkg/sftp"

	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// opensshClient runs OpenSSH's sftp against ts as alice, with a key and the host key pinned.
type opensshClient struct {
	t          *testing.T
	port       string
	keyFile    string
	knownHosts string
}

func newOpenSSHClient(t *testing.T, ts *testServer) *opensshClient {
	t.Helper()
	realclient.Require(t, "sftp")
	keyFile, knownHosts := opensshAlice(t, ts, ts.addr)
	_, port, _ := net.SplitHostPort(ts.addr)
	return &opensshClient{t: t, port: port, keyFile: keyFile, knownHosts: knownHosts}
}

// run runs the batch script with sftp's extra options (such as "-R", "1") and fails the test if sftp fails.
func (c *opensshClient) run(script string, extra ...string) {
	c.t.Helper()
	if out, err := c.command(script, extra...).CombinedOutput(); err != nil {
		c.t.Fatalf("sftp %v failed: %v\nscript:\n%s\noutput:\n%s", extra, err, script, out)
	}
}

func (c *opensshClient) command(script string, extra ...string) *exec.Cmd {
	args := append(realclient.OpenSSHOptions(c.knownHosts), extra...)
	args = append(args, "-b", "-", "-P", c.port, "-i", c.keyFile, "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "alice@127.0.0.1")
	cmd := exec.Command("sftp", args...)
	cmd.Stdin = strings.NewReader(script)
	return cmd
}

// writeFile writes data to a new file in dir, creating dir if needed (a home directory before the user's first
// login), and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sameBytes fails the test with the first differing offset, which says more than "differs" when a resumed
// transfer goes wrong.
func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Fatalf("%s: %d bytes, want %d; first difference at offset %d", what, len(got), len(want), i)
}

// TestOpenSSHResumedUploads is the report that found the bug: OpenSSH's `reput` and `put -a` open the partial
// file with SSH_FXF_APPEND and send the offsets of the rest, several requests at a time. Every block must land
// at its offset, with one request in flight and with OpenSSH's default (64).
func TestOpenSSHResumedUploads(t *testing.T) {
	ts := startServer(t)
	client := newOpenSSHClient(t, ts)
	work := t.TempDir()
	full := payload.Random(10_000_000 + 7)
	fullFile := writeFile(t, work, "full.bin", full)
	partFile := writeFile(t, work, "part.bin", full[:3_000_001])

	for _, resume := range []string{"reput", "put -a"} {
		for _, requests := range []string{"1", "64"} {
			t.Run(fmt.Sprintf("%s -R %s", resume, requests), func(t *testing.T) {
				name := strings.ReplaceAll(resume, " ", "") + "-" + requests + ".bin"
				client.run(fmt.Sprintf("put %s %s\n%s %s %s\n", partFile, name, resume, fullFile, name), "-R", requests)
				got, err := os.ReadFile(filepath.Join(ts.storage, "alice", name))
				if err != nil {
					t.Fatal(err)
				}
				sameBytes(t, "the resumed upload on the server", got, full)
			})
		}
	}
}

// TestOpenSSHResumedDownloads: `reget` continues a partial local file from its size.
func TestOpenSSHResumedDownloads(t *testing.T) {
	ts := startServer(t)
	client := newOpenSSHClient(t, ts)
	full := payload.Random(12_000_000 + 3)
	writeFile(t, filepath.Join(ts.storage, "alice"), "remote.bin", full)
	for _, requests := range []string{"1", "64"} {
		work := t.TempDir()
		local := writeFile(t, work, "local.bin", full[:4_500_007])
		client.run(fmt.Sprintf("reget remote.bin %s\n", local), "-R", requests)
		got, err := os.ReadFile(local)
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, "reget -R "+requests, got, full)
	}
}

// TestCurlAppend: curl (libssh2) opens with SSH_FXF_APPEND and numbers its writes from 0, relying on the server
// to append them in order, as OpenSSH's sftp-server does.
func TestCurlAppend(t *testing.T) {
	realclient.Require(t, "curl")
	ts := startServer(t)
	fingerprint := ts.curlFingerprint(t)
	head := []byte("existing head of the file\n")
	tail := payload.Random(5_000_000 + 11)
	writeFile(t, filepath.Join(ts.storage, "alice"), "log.bin", head)
	local := writeFile(t, t.TempDir(), "tail.bin", tail)
	out, err := exec.Command("curl", "--silent", "--show-error", "--fail", "--user", "alice:"+passwords["alice"],
		"--hostpubsha256", fingerprint, "--append", "-T", local, "sftp://"+ts.addr+"/~/log.bin").CombinedOutput()
	if err != nil {
		t.Fatalf("curl --append: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(ts.storage, "alice", "log.bin"))
	if err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "the file after curl --append", got, append(head, tail...))
}

// writeShuffled sends blocks of data with WriteAt from several goroutines in a random order, each at base plus
// its offset in data, as a client with many requests in flight may.
func writeShuffled(t *testing.T, f interface {
	WriteAt([]byte, int64) (int, error)
}, data []byte, base int64, block int) {
	t.Helper()
	var offsets []int
	for off := 0; off < len(data); off += block {
		offsets = append(offsets, off)
	}
	mrand.Shuffle(len(offsets), func(i, j int) { offsets[i], offsets[j] = offsets[j], offsets[i] })
	work := make(chan int)
	errs := make(chan error, len(offsets))
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for off := range work {
				_, err := f.WriteAt(data[off:min(off+block, len(data))], base+int64(off))
				errs <- err
			}
		}()
	}
	for _, off := range offsets {
		work <- off
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("WriteAt: %v", err)
		}
	}
}

// TestAppendHandleAppendsInRequestOrder: an SSH_FXF_APPEND handle writes at the end of the file, whatever the
// offsets say, in the order the client sent the writes (the draft's rule, and OpenSSH's sftp-server's). Clients
// number such writes from the file's size (OpenSSH, paramiko) or from 0 (curl, pkg/sftp); written in order, with
// many requests in flight, both give the old content followed by the new. Writes sent one at a time with offsets
// out of order land in the order they were sent.
func TestAppendHandleAppendsInRequestOrder(t *testing.T) {
	ts := startServer(t)
	c := ts.mustDial(t, "alice")
	for _, tc := range []struct {
		name      string
		fromZero  bool
		existing  int
		appending int
	}{
		{"numbered from the size", false, 1_000_003, 4_000_037},
		{"numbered from zero", true, 1_000_003, 4_000_037},
		{"numbered from zero, the size a block boundary", true, 32 << 10, 1_000_000},
		{"empty file", false, 0, 2_000_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := payload.Random(tc.existing)
			upload(t, c, "/append.bin", old)
			f, err := c.OpenFile("/append.bin", os.O_WRONLY|os.O_APPEND)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.fromZero {
				if _, err := f.Seek(int64(tc.existing), io.SeekStart); err != nil {
					t.Fatal(err)
				}
			}
			added := payload.Random(tc.appending)
			// ReadFrom keeps many writes in flight, as OpenSSH and curl do.
			if _, err := f.ReadFrom(bytes.NewReader(added)); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			sameBytes(t, "the appended file", download(t, c, "/append.bin"), append(old, added...))
		})
	}
	t.Run("offsets out of order, one write at a time", func(t *testing.T) {
		upload(t, c, "/log.txt", []byte("head\n"))
		f, err := c.OpenFile("/log.txt", os.O_WRONLY|os.O_APPEND)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []struct {
			data string
			off  int64
		}{{"second\n", 12}, {"first\n", 5}, {"third\n", 0}} {
			if _, err := f.WriteAt([]byte(w.data), w.off); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if got := download(t, c, "/log.txt"); string(got) != "head\nsecond\nfirst\nthird\n" {
			t.Fatalf("the log is %q, want each write appended in the order it was sent", got)
		}
	})
}

// TestTwoAppendersKeepEveryByte: two sessions appending to one file (two writers of a shared log) both keep their
// lines, as with OpenSSH, however they number their offsets. (Found by the independent check of issue 10.)
func TestTwoAppendersKeepEveryByte(t *testing.T) {
	ts := startServer(t)
	for _, fromSize := range []bool{true, false} {
		t.Run(fmt.Sprintf("numbered from the size: %v", fromSize), func(t *testing.T) {
			c1, c2 := ts.mustDial(t, "alice"), ts.mustDial(t, "alice")
			header := []byte("header\n")
			upload(t, c1, "/shared.log", header)
			a, err := c1.OpenFile("/shared.log", os.O_WRONLY|os.O_APPEND)
			if err != nil {
				t.Fatal(err)
			}
			b, err := c2.OpenFile("/shared.log", os.O_WRONLY|os.O_APPEND)
			if err != nil {
				t.Fatal(err)
			}
			base := int64(0)
			if fromSize {
				base = int64(len(header))
			}
			for _, w := range []struct {
				f    *sftp.File
				line string
			}{{b, "line from B\n"}, {a, "line from A\n"}} {
				if _, err := w.f.WriteAt([]byte(w.line), base); err != nil {
					t.Fatal(err)
				}
				if err := w.f.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if got := download(t, c1, "/shared.log"); string(got) != "header\nline from B\nline from A\n" {
				t.Fatalf("after two appends the file is %q", got)
			}
		})
	}
}

// TestLaterWriteWins: a client that rewrites a region it wrote before gets the later bytes, also when the region
// lies beyond bytes not written yet, and a written block can be read back at once by another handle. (Found by the
// independent check of issue 10 against an earlier design that held such writes in memory.)
func TestLaterWriteWins(t *testing.T) {
	ts := startServer(t)
	c := ts.mustDial(t, "alice")
	f, err := c.Create("/same.bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		data string
		off  int64
	}{{"OLD", 100}, {"NEW", 100}, {"AAAA", 10}, {string(bytes.Repeat([]byte("B"), 14)), 0}} {
		if _, err := f.WriteAt([]byte(w.data), w.off); err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.Open("/same.bin")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3)
	if _, err := r.ReadAt(got, 100); err != nil || string(got) != "NEW" {
		t.Fatalf("reading back the block written last gives %q (%v)", got, err)
	}
	_ = r.Close()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data := download(t, c, "/same.bin")
	if !bytes.Equal(data[:14], bytes.Repeat([]byte("B"), 14)) || string(data[100:]) != "NEW" {
		t.Fatalf("the file is %q, want 14 B's (written last over the A's) and NEW at 100", data)
	}
}

// TestConcurrentWritesToOneHandle: out-of-order WriteAts on an ordinary write handle, a fresh file and a resumed
// one, give the same file as writing it in order.
func TestConcurrentWritesToOneHandle(t *testing.T) {
	ts := startServer(t)
	c := ts.mustDial(t, "alice")
	data := payload.Random(6_000_011)
	f, err := c.Create("/fresh.bin")
	if err != nil {
		t.Fatal(err)
	}
	writeShuffled(t, f, data, 0, 32<<10)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "the file written out of order", download(t, c, "/fresh.bin"), data)

	upload(t, c, "/resumed.bin", data[:2_000_000])
	f, err = c.OpenFile("/resumed.bin", os.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	writeShuffled(t, f, data[2_000_000:], 2_000_000, 30_000)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "the file resumed out of order", download(t, c, "/resumed.bin"), data)
}
