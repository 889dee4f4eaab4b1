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

package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func randomBytes(n int) []byte {
	data := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	_, _ = rng.Read(data)
	return data
}

func writeAll(t *testing.T, fsys *FS, p string, flags WriteFlags, data []byte) {
	t.Helper()
	f, err := fsys.OpenWrite(p, flags)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.Write(data); err != nil || n != len(data) {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if f.BytesWritten() != int64(len(data)) {
		t.Errorf("BytesWritten() = %d, want %d", f.BytesWritten(), len(data))
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func readAll(t *testing.T, fsys *FS, p string) []byte {
	t.Helper()
	f, err := fsys.OpenRead(p)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if f.BytesRead() != int64(len(data)) {
		t.Errorf("BytesRead() = %d, want %d", f.BytesRead(), len(data))
	}
	return data
}

func TestWriteThenRead(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	data := randomBytes(1 << 20)
	writeAll(t, fsys, "/sub/big.bin", WriteFlags{Create: true, Truncate: true}, data)
	if got := readAll(t, fsys, "sub//./big.bin"); !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes, differing from the %d written", len(got), len(data))
	}
	// Close returned, so the data must be in the file on disk.
	if got := mustRead(t, filepath.Join(l.home, "sub/big.bin")); got != string(data) {
		t.Errorf("file on disk differs from what was written")
	}
	info, err := os.Stat(filepath.Join(l.home, "sub/big.bin"))
	if err != nil || info.Mode().Perm()&^fileMode != 0 {
		t.Errorf("new file mode %v, %v; want at most %v", info.Mode(), err, fileMode)
	}
}

// SFTP clients send many WriteAt and ReadAt requests at once, out of order.
func TestConcurrentWriteAtAndReadAt(t *testing.T) {
	fsys := newLayout(t).openFS(t)
	const chunk, chunks = 4096, 64
	data := randomBytes(chunk * chunks)
	f, err := fsys.OpenWrite("parallel.bin", WriteFlags{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := chunks - 1; i >= 0; i-- {
		wg.Go(func() {
			if _, err := f.WriteAt(data[i*chunk:(i+1)*chunk], int64(i*chunk)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if f.BytesWritten() != int64(len(data)) {
		t.Errorf("BytesWritten() = %d, want %d", f.BytesWritten(), len(data))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := fsys.OpenRead("parallel.bin")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	for i := range chunks {
		wg.Go(func() {
			if _, err := r.ReadAt(got[i*chunk:(i+1)*chunk], int64(i*chunk)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if !bytes.Equal(got, data) {
		t.Errorf("read back data differs")
	}
	if r.BytesRead() != int64(len(data)) {
		t.Errorf("BytesRead() = %d, want %d", r.BytesRead(), len(data))
	}
	//nolint:errorlint // callers compare with io.EOF itself, so it must come back unwrapped
	if n, err := r.ReadAt(make([]byte, 10), int64(len(data))-5); n != 5 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v; want 5, io.EOF unwrapped", n, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestResumeUpload(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	data := randomBytes(100_001)
	half := len(data) / 2
	writeAll(t, fsys, "resumed.bin", WriteFlags{Create: true, Truncate: true}, data[:half])

	f, err := fsys.OpenWrite("resumed.bin", WriteFlags{}) // no Truncate: keep the first half
	if err != nil {
		t.Fatal(err)
	}
	if info, err := f.Stat(); err != nil || info.Size() != int64(half) {
		t.Fatalf("size before resuming: %v, %v; want %d", info, err, half)
	}
	if _, err := f.WriteAt(data[half:], int64(half)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fsys, "resumed.bin"); !bytes.Equal(got, data) {
		t.Errorf("resumed file differs from the original")
	}
}

func TestAppend(t *testing.T) {
	fsys := newLayout(t).openFS(t)
	writeAll(t, fsys, "log.txt", WriteFlags{Create: true, Append: true}, []byte("one\n"))
	writeAll(t, fsys, "log.txt", WriteFlags{Create: true, Append: true}, []byte("two\n"))
	if got := readAll(t, fsys, "log.txt"); string(got) != "one\ntwo\n" {
		t.Errorf("appended file = %q", got)
	}
	f, err := fsys.OpenWrite("log.txt", WriteFlags{Append: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Errorf("WriteAt on an append handle succeeded")
	}
}

func TestTruncateAndSeek(t *testing.T) {
	fsys := newLayout(t).openFS(t)
	writeAll(t, fsys, "file.txt", WriteFlags{Truncate: true}, []byte("0123456789"))
	f, err := fsys.OpenWrite("file.txt", WriteFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4); err != nil {
		t.Fatal(err)
	}
	if pos, err := f.Seek(0, io.SeekEnd); err != nil || pos != 4 {
		t.Errorf("Seek(end) = %d, %v; want 4", pos, err)
	}
	if _, err := f.Write([]byte("X")); err != nil {
		t.Fatal(err)
	}
	if f.Name() != "/file.txt" {
		t.Errorf("Name() = %q", f.Name())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fsys, "file.txt"); string(got) != "0123X" {
		t.Errorf("file = %q, want 0123X", got)
	}
}

func TestOpenWriteFlags(t *testing.T) {
	fsys := newLayout(t).openFS(t)
	if _, err := fsys.OpenWrite("missing.txt", WriteFlags{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenWrite without Create on a missing file: %v, want not-exist", err)
	}
	if _, err := fsys.OpenWrite("file.txt", WriteFlags{Create: true, Exclusive: true}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("OpenWrite with Exclusive on an existing file: %v, want exists", err)
	}
	if got := readAll(t, fsys, "file.txt"); string(got) != "hello" {
		t.Errorf("file.txt = %q after failed opens, want it unchanged", got)
	}
}

// Close of a write handle must report a failing Sync: the upload is not safe on disk.
func TestCloseReportsSyncError(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	f, err := fsys.OpenWrite("file.txt", WriteFlags{})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.file.Close() // make Sync fail
	err = f.Close()
	if !errors.Is(err, fs.ErrClosed) || !strings.Contains(err.Error(), "sync /file.txt") {
		t.Errorf("Close after a failing Sync = %v, want the sync error for /file.txt", err)
	}
	if strings.Contains(err.Error(), l.tmp) {
		t.Errorf("error %q reveals the path on the server's disk", err)
	}
}

func TestOpenRefusesDirectoriesAndSpecialFiles(t *testing.T) {
	l := newLayout(t)
	if err := syscall.Mkfifo(filepath.Join(l.home, "fifo"), 0o640); err != nil {
		t.Fatal(err)
	}
	fsys := l.openFS(t)
	for _, p := range []string{"/", "sub", "fifo"} {
		if _, err := fsys.OpenRead(p); err == nil {
			t.Errorf("OpenRead(%q) succeeded", p)
		}
		if _, err := fsys.OpenWrite(p, WriteFlags{Create: true}); err == nil {
			t.Errorf("OpenWrite(%q) succeeded", p)
		}
	}
	if _, err := fsys.OpenRead("sub"); !errors.Is(err, syscall.EISDIR) {
		t.Errorf("OpenRead of a directory: %v, want EISDIR", err)
	}
	if _, err := fsys.OpenDir("fifo"); err == nil {
		t.Errorf("OpenDir of a named pipe succeeded")
	}
	if _, err := fsys.OpenDir("file.txt"); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("OpenDir of a file: %v, want ENOTDIR", err)
	}
}

func TestBatchedListing(t *testing.T) {
	l := newLayout(t)
	const n = 10_000
	dir := filepath.Join(l.home, "many")
	mustMkdirAll(t, dir)
	for i := range n {
		mustWrite(t, filepath.Join(dir, fmt.Sprintf("f%05d", i)), "")
	}
	fsys := l.openFS(t)
	for _, batch := range []int{1000, 7} {
		d, err := fsys.OpenDir("/many/")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for {
			entries, err := d.Next(batch)
			if len(entries) > batch {
				t.Fatalf("Next(%d) returned %d entries", batch, len(entries))
			}
			for _, e := range entries {
				seen[e.Name()]++
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		//nolint:errorlint // callers compare with io.EOF itself, so it must come back unwrapped
		if _, err := d.Next(batch); err != io.EOF {
			t.Errorf("Next after the end: %v, want io.EOF", err)
		}
		if len(seen) != n {
			t.Errorf("batch %d: listed %d distinct entries, want %d", batch, len(seen), n)
		}
		for name, count := range seen {
			if count != 1 {
				t.Errorf("batch %d: %s listed %d times", batch, name, count)
			}
		}
		if _, err := d.Next(0); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Next(0): %v, want an invalid-argument error", err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestListingShowsLinksAsLinks(t *testing.T) {
	l := newLayout(t)
	l.link(t, "out", "../../outside/secret")
	fsys := l.openFS(t)
	d, err := fsys.OpenDir("/")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	entries, err := d.Next(100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "out" && e.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("link listed with mode %v, want a symbolic link", e.Mode())
		}
	}
}

// ReadFrom moves a file from a TCP connection with splice(2), and from anything else by copying; either way every
// byte arrives and is counted for the transfer log.
func TestReadFrom(t *testing.T) {
	l := newLayout(t)
	fsys := l.openFS(t)
	data := randomBytes(3<<20 + 5)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server := <-accepted
	go func() {
		_, _ = client.Write(data)
		_ = client.(*net.TCPConn).CloseWrite()
	}()

	up, err := fsys.OpenWrite("/up.bin", WriteFlags{Create: true, Truncate: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := up.ReadFrom(server); err != nil || n != int64(len(data)) || up.BytesWritten() != n {
		t.Fatalf("ReadFrom(a TCP connection) = %d, %v; BytesWritten %d; want %d", n, err, up.BytesWritten(), len(data))
	}
	if n, err := up.ReadFrom(bytes.NewReader(data[:7])); err != nil || n != 7 {
		t.Fatalf("ReadFrom(a bytes.Reader) = %d, %v", n, err)
	}
	if err := up.Close(); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, data...), data[:7]...)
	if got := mustRead(t, filepath.Join(l.home, "up.bin")); got != string(want) {
		t.Fatal("the file differs from what was sent")
	}

	_ = server.Close()
	_ = client.Close()
}
