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
	"errors"
	"io"
	"io/fs"
	"sync"
	"syscall"
	"time"

	"github.com/pier-dev/pier/server/session"
	"github.com/pier-dev/pier/server/vfs"
)

// listBatch is how many directory entries are read from disk at a time.
const listBatch = 256

// transfer is a file open for RETR, STOR or APPE. It writes the transfer-log line when ftpserverlib closes it.
// ftpserverlib closes the file before it sends "226", and vfs syncs an upload in Close, so the client hears of
// success only once the data is on disk; a failed sync turns the reply into an error.
type transfer struct {
	*vfs.File
	op, path string
	started  time.Time
	sess     *session.Session
	conn     *connection
	failed   error // set by TransferError: the client aborted or the data connection broke
	once     sync.Once
	// cutAt, when not -1, is where STOR (0) or REST+STOR (the offset) cuts the old file. The first Write does
	// it (ftpserverlib writes an empty slice when an upload succeeded with no data), so an upload whose data
	// never comes leaves the old file whole; Close never cuts.
	cutAt int64
}

func (c *clientDriver) newTransfer(f *vfs.File, op, name string, started time.Time) *transfer {
	c.conn.transfers.Add(1)
	return &transfer{File: f, op: op, path: name, started: started, sess: c.sess, conn: c.conn, cutAt: -1}
}

// cut truncates the old file at cutAt, once.
func (t *transfer) cut() error {
	if t.cutAt < 0 {
		return nil
	}
	err := t.Truncate(t.cutAt)
	t.cutAt = -1
	return err
}

func (t *transfer) Read(b []byte) (int, error) {
	n, err := t.File.Read(b)
	if n > 0 {
		t.conn.touch()
	}
	return n, err
}

func (t *transfer) Write(b []byte) (int, error) {
	if err := t.cut(); err != nil {
		return 0, err
	}
	n, err := t.File.Write(b)
	if n > 0 {
		t.conn.touch()
	}
	return n, err
}

func (t *transfer) WriteString(s string) (int, error) { return t.Write([]byte(s)) }

// uploadBuffer is how much of an upload that cannot be spliced (TLS, active mode, ASCII) is gathered before it is
// written: a TLS connection yields one record (at most 16 KiB) per read, and writing each one on its own was as
// many write calls on the file.
const uploadBuffer = 256 << 10

// uploadBuffers are reused across uploads: a batch of small files would otherwise make one each.
var uploadBuffers = sync.Pool{New: func() any { return new([uploadBuffer]byte) }}

// ReadFrom stores an upload (STOR, APPE). The first bytes go through Write, which cuts the old file only once
// data has arrived (cutAt). The rest comes from a plain passive data connection with splice(2) into the file
// (dataConn.spliceInto), and from anything else through a buffer of uploadBuffer bytes.
func (t *transfer) ReadFrom(r io.Reader) (int64, error) {
	pooled := uploadBuffers.Get().(*[uploadBuffer]byte)
	defer uploadBuffers.Put(pooled)
	n, done, err := t.storeBlock(r, pooled[:], false)
	total := int64(n)
	if done || err != nil {
		return total, err
	}
	if dc, ok := r.(*dataConn); ok && spliceable(dc.idle) {
		n, err := dc.spliceInto(t.File)
		return total + n, err
	}
	for {
		n, done, err := t.storeBlock(r, pooled[:], true)
		total += int64(n)
		if done || err != nil {
			return total, err
		}
	}
}

// storeBlock reads a block from r, what the first read with data gives or, with whole, a full buffer, and
// writes it; done says r has ended (io.EOF, which is no error for an upload).
func (t *transfer) storeBlock(r io.Reader, buf []byte, whole bool) (n int, done bool, err error) {
	for err == nil && (n == 0 || whole && n < len(buf)) {
		var got int
		got, err = r.Read(buf[n:])
		n += got
		if got > 0 {
			t.conn.touch() // a slow client is still an active one while the buffer fills
		}
	}
	if n > 0 {
		if _, werr := t.Write(buf[:n]); werr != nil {
			return 0, false, werr
		}
	}
	if errors.Is(err, io.EOF) {
		return n, true, nil
	}
	return n, false, err
}

// Close closes (and for uploads syncs) the file and logs the transfer; only the first call does anything.
func (t *transfer) Close() error {
	err := fs.ErrClosed
	t.once.Do(func() {
		err = t.File.Close()
		logged := err
		if logged == nil {
			logged = t.failed
		}
		t.sess.Record(t.op, t.path, t.started, t.BytesWritten(), t.BytesRead(), logged)
		t.conn.transfers.Done()
	})
	return err
}

// TransferError is called by ftpserverlib before Close when the transfer did not complete.
func (t *transfer) TransferError(err error) { t.failed = err }

// Name is the path as the client gave it.
func (t *transfer) Name() string { return t.path }

// Sync is a no-op: Close syncs uploads, which is when the client is told they succeeded.
func (t *transfer) Sync() error { return nil }

func (t *transfer) Readdir(int) ([]fs.FileInfo, error) {
	return nil, &fs.PathError{Op: "readdir", Path: t.path, Err: syscall.ENOTDIR}
}

func (t *transfer) Readdirnames(int) ([]string, error) {
	return nil, &fs.PathError{Op: "readdir", Path: t.path, Err: syscall.ENOTDIR}
}

// dirFile is a directory opened for listing. ftpserverlib reads the whole listing with Readdir(-1); it is read
// from disk in batches all the same.
type dirFile struct {
	dir  *vfs.Dir
	fs   *vfs.FS
	name string
}

// Readdir returns up to n entries (io.EOF at the end), or all remaining ones for n <= 0.
func (d *dirFile) Readdir(n int) ([]fs.FileInfo, error) {
	if n > 0 {
		return d.dir.Next(n)
	}
	var all []fs.FileInfo
	for {
		batch, err := d.dir.Next(listBatch)
		all = append(all, batch...)
		if errors.Is(err, io.EOF) {
			return all, nil
		}
		if err != nil {
			return all, err
		}
	}
}

func (d *dirFile) Readdirnames(n int) ([]string, error) {
	infos, err := d.Readdir(n)
	names := make([]string, 0, len(infos))
	for _, info := range infos {
		names = append(names, info.Name())
	}
	return names, err
}

func (d *dirFile) Close() error               { return d.dir.Close() }
func (d *dirFile) Name() string               { return d.name }
func (d *dirFile) Stat() (fs.FileInfo, error) { return d.fs.Stat(d.name) }
func (d *dirFile) Sync() error                { return nil }
func (d *dirFile) Read([]byte) (int, error)   { return 0, d.isDir("read") }
func (d *dirFile) Write([]byte) (int, error)  { return 0, d.isDir("write") }
func (d *dirFile) WriteString(string) (int, error) {
	return 0, d.isDir("write")
}
func (d *dirFile) ReadAt([]byte, int64) (int, error)  { return 0, d.isDir("read") }
func (d *dirFile) WriteAt([]byte, int64) (int, error) { return 0, d.isDir("write") }
func (d *dirFile) Seek(int64, int) (int64, error)     { return 0, d.isDir("seek") }
func (d *dirFile) Truncate(int64) error               { return d.isDir("truncate") }

func (d *dirFile) isDir(op string) error {
	return &fs.PathError{Op: op, Path: d.name, Err: syscall.EISDIR}
}
