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
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
)

// WriteFlags say how OpenWrite opens a file. The zero value opens an existing file for writing at any offset
// without changing it, which is how an interrupted upload is resumed.
type WriteFlags struct {
	// Create creates the file if it does not exist.
	Create bool
	// Exclusive, with Create, fails if the file already exists (SFTP's SSH_FXF_EXCL).
	Exclusive bool
	// Truncate empties an existing file first (a fresh upload over an old one).
	Truncate bool
	// Append makes every Write go to the end of the file (FTP APPE). WriteAt is refused on such a handle.
	Append bool
}

// File is an open regular file: a read handle from OpenRead or a write handle from OpenWrite. It counts the
// bytes moved through it for transfer logs. ReadAt and WriteAt are safe for concurrent use, as SFTP servers
// issue them in parallel.
type File struct {
	file     *os.File
	name     string // resolved name, for errors
	writable bool

	bytesRead    atomic.Int64
	bytesWritten atomic.Int64
}

// OpenRead opens the regular file p for reading.
func (f *FS) OpenRead(p string) (*File, error) {
	name, err := f.check("open", Download, p)
	if err != nil {
		return nil, err
	}
	return f.openRegular(name, os.O_RDONLY, false)
}

// OpenWrite opens the regular file p for writing as flags say; new files get mode 0o640. Creating a file needs
// Upload; opening one that exists needs Overwrite as well, whatever the flags, since every write to it changes
// what it held. Without Overwrite the file is created with O_EXCL, so a file that appears between any check and
// the open is refused rather than written.
func (f *FS) OpenWrite(p string, flags WriteFlags) (*File, error) {
	name, err := f.check("open", Upload, p)
	if err != nil {
		return nil, err
	}
	if !f.perms.Has(Overwrite) {
		return f.createOnly(name, flags)
	}
	flag := os.O_WRONLY
	if flags.Create {
		flag |= os.O_CREATE
	}
	if flags.Exclusive {
		flag |= os.O_EXCL
	}
	if flags.Truncate {
		flag |= os.O_TRUNC
	}
	if flags.Append {
		flag |= os.O_APPEND
	}
	return f.openRegular(name, flag, true)
}

// createOnly is OpenWrite for a user without Overwrite: only a new file may be opened.
func (f *FS) createOnly(name string, flags WriteFlags) (*File, error) {
	if name == "." {
		return nil, pathError("open", name, syscall.EISDIR)
	}
	if !flags.Create {
		if _, err := f.root.Lstat(name); err != nil {
			return nil, pathError("open", name, err)
		}
		return nil, pathError("open", name, errExists)
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if flags.Append {
		flag |= os.O_APPEND
	}
	file, err := f.openRegular(name, flag, true)
	if errors.Is(err, fs.ErrExist) {
		if info, statErr := f.root.Lstat(name); statErr == nil && info.IsDir() {
			return nil, pathError("open", name, syscall.EISDIR)
		}
		return nil, pathError("open", name, errExists)
	}
	return file, err
}

// errExists refuses changing an existing file to a user without Overwrite.
var errExists = fmt.Errorf("%w: the file exists and %q is not granted, so it cannot be replaced or changed",
	ErrPermissionDenied, Overwrite)

// openRegular opens name and makes sure it is a regular file. O_NONBLOCK keeps the open itself from hanging
// forever on a named pipe someone placed in the storage; it has no effect on regular files. Devices, pipes and
// sockets are refused, since reading or writing them is never a file transfer.
func (f *FS) openRegular(name string, flag int, writable bool) (*File, error) {
	if name == "." {
		return nil, pathError("open", name, syscall.EISDIR)
	}
	file, err := f.root.OpenFile(name, flag|syscall.O_NONBLOCK, fileMode)
	if err != nil {
		return nil, pathError("open", name, err)
	}
	info, err := file.Stat()
	if err != nil {
		_ = file.Close() // the Stat error is the one worth reporting
		return nil, pathError("open", name, err)
	}
	if !info.Mode().IsRegular() {
		_ = file.Close() // nothing was written; the handle was never used
		if info.IsDir() {
			return nil, pathError("open", name, syscall.EISDIR)
		}
		return nil, pathError("open", name, errNotRegular)
	}
	return &File{file: file, name: name, writable: writable}, nil
}

var errNotRegular = errors.New("not a regular file")

// Name is the file's path as the client sees it, such as "/reports/q1.csv".
func (f *File) Name() string {
	return jailPath(f.name)
}

// Read reads from the current offset.
func (f *File) Read(b []byte) (int, error) {
	n, err := f.file.Read(b)
	f.bytesRead.Add(int64(n))
	return n, handleError("read", f.name, err)
}

// ReadAt reads at offset off without moving the current offset. It returns io.EOF, unwrapped, at the end.
func (f *File) ReadAt(b []byte, off int64) (int, error) {
	n, err := f.file.ReadAt(b, off)
	f.bytesRead.Add(int64(n))
	return n, handleError("read", f.name, err)
}

// Write writes at the current offset, or at the end with WriteFlags.Append.
func (f *File) Write(b []byte) (int, error) {
	n, err := f.file.Write(b)
	f.bytesWritten.Add(int64(n))
	return n, handleError("write", f.name, err)
}

// WriteAt writes at offset off without moving the current offset; resumed uploads continue with it.
func (f *File) WriteAt(b []byte, off int64) (int, error) {
	n, err := f.file.WriteAt(b, off)
	f.bytesWritten.Add(int64(n))
	return n, handleError("write", f.name, err)
}

// ReadFrom writes what r yields at the current offset (at the end with WriteFlags.Append) until r ends. With r a
// TCP connection, or an io.LimitedReader of one, Linux moves the bytes with splice(2), without copying them
// through this process; otherwise they go through a buffer, as io.Copy's.
func (f *File) ReadFrom(r io.Reader) (int64, error) {
	n, err := f.file.ReadFrom(r)
	f.bytesWritten.Add(n)
	return n, handleError("write", f.name, err)
}

// Seek sets the offset for the next Read or Write, like io.Seeker.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	pos, err := f.file.Seek(offset, whence)
	return pos, handleError("seek", f.name, err)
}

// Stat describes the open file.
func (f *File) Stat() (fs.FileInfo, error) {
	info, err := f.file.Stat()
	return info, handleError("stat", f.name, err)
}

// Truncate changes the size of a file opened for writing (FTP and SFTP can set the size of an upload).
func (f *File) Truncate(size int64) error {
	return handleError("truncate", f.name, f.file.Truncate(size))
}

// BytesRead is the number of bytes read through this handle so far.
func (f *File) BytesRead() int64 {
	return f.bytesRead.Load()
}

// BytesWritten is the number of bytes written through this handle so far.
func (f *File) BytesWritten() int64 {
	return f.bytesWritten.Load()
}

// Close closes the file. For a write handle it first flushes the data to disk and reports any error of that,
// because the front end tells the client the upload succeeded once Close returns nil, and data that only sat
// in the page cache would be lost if the node crashed then.
func (f *File) Close() error {
	var syncErr error
	if f.writable {
		syncErr = handleError("sync", f.name, f.file.Sync())
	}
	closeErr := handleError("close", f.name, f.file.Close())
	return errors.Join(syncErr, closeErr)
}

var (
	_ io.ReaderAt   = (*File)(nil)
	_ io.WriterAt   = (*File)(nil)
	_ io.Seeker     = (*File)(nil)
	_ io.ReaderFrom = (*File)(nil)
)
