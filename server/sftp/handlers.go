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
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/pkg/sftp"

	"github.com/pier-dev/pier/server/session"
	"github.com/pier-dev/pier/server/vfs"
)

// listBatch is how many directory entries are read from disk at a time, so a huge directory is streamed.
const listBatch = 256

// handlers serve pkg/sftp requests from one user's jail. Every request goes through vfs, which resolves the path
// inside the jail and checks the user's permission.
type handlers struct {
	fs   *vfs.FS
	sess *session.Session
}

// Fileread opens a file for download.
func (h *handlers) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	started := time.Now()
	f, err := h.fs.OpenRead(r.Filepath)
	if err != nil {
		h.sess.Record("download", r.Filepath, started, 0, 0, err)
		return nil, sftpError(err)
	}
	return &transfer{File: f, op: "download", path: r.Filepath, started: started, sess: h.sess}, nil
}

// Filewrite opens a file for upload. Without the truncate flag an existing file is kept and written at the
// client's offsets, which is how OpenSSH's `reput` and other clients resume an interrupted upload.
//
// The writes of one handle reach WriteAt one at a time, in the order the client sent them: pier's copy of
// pkg/sftp serves each handle's requests on one worker (third_party/README.md). Upstream serves them on several at
// once, which is what corrupted appended and resumed uploads. So the file on disk grows as the client sends it, an
// interrupted upload leaves exactly the blocks written before the interruption, and of two writes to the same
// bytes the later one wins.
func (h *handlers) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	started := time.Now()
	pflags := r.Pflags()
	f, err := h.fs.OpenWrite(r.Filepath, vfs.WriteFlags{
		Create: pflags.Creat, Exclusive: pflags.Excl, Truncate: pflags.Trunc, Append: pflags.Append,
	})
	if err != nil {
		h.sess.Record("upload", r.Filepath, started, 0, 0, err)
		return nil, sftpError(err)
	}
	t := &transfer{File: f, op: "upload", path: r.Filepath, started: started, sess: h.sess}
	if pflags.Append {
		return appendWriter{t}, nil
	}
	return t, nil
}

// Filecmd runs the requests that change the tree.
func (h *handlers) Filecmd(r *sftp.Request) error {
	started := time.Now()
	var op string
	var err error
	switch r.Method {
	case "Setstat":
		op, err = "setstat", h.setstat(r)
	case "Rename":
		// SFTP version 3 rename never replaces an existing file; posix-rename (below) does.
		op, err = "rename", h.fs.RenameNoReplace(r.Filepath, r.Target)
	case "Rmdir":
		op, err = "rmdir", h.fs.Rmdir(r.Filepath)
	case "Mkdir":
		op, err = "mkdir", h.fs.Mkdir(r.Filepath)
	case "Remove":
		op, err = "remove", h.fs.Remove(r.Filepath)
	case "Symlink", "Link":
		// Links could point anywhere later; the jail offers none.
		op, err = "link", sftp.ErrSSHFxOpUnsupported
	default:
		op, err = r.Method, sftp.ErrSSHFxOpUnsupported
	}
	h.sess.Record(op, r.Filepath, started, 0, 0, err)
	return sftpError(err)
}

// PosixRename is the posix-rename@openssh.com extension: rename that replaces the destination atomically, for a
// user with the overwrite permission.
func (h *handlers) PosixRename(r *sftp.Request) error {
	started := time.Now()
	err := h.fs.Rename(r.Filepath, r.Target)
	h.sess.Record("rename", r.Filepath, started, 0, 0, err)
	return sftpError(err)
}

// StatVFS is the statvfs@openssh.com extension (`df` in OpenSSH's sftp).
func (h *handlers) StatVFS(*sftp.Request) (*sftp.StatVFS, error) {
	st, err := h.fs.Statvfs()
	if err != nil {
		return nil, sftpError(err)
	}
	return &sftp.StatVFS{
		Bsize: st.BlockSize, Frsize: st.BlockSize, Blocks: st.Blocks, Bfree: st.BlocksFree,
		Bavail: st.BlocksAvailable, Files: st.Files, Ffree: st.FilesFree, Favail: st.FilesFree,
		Namemax: st.NameMax,
	}, nil
}

func (h *handlers) setstat(r *sftp.Request) error {
	flags, attrs := r.AttrFlags(), r.Attributes()
	if flags.UidGid {
		// Every file belongs to the server's own user; there is no ownership to change.
		return sftp.ErrSSHFxOpUnsupported
	}
	if flags.Size {
		// scp and resuming clients set the final size (ftruncate). It changes an existing file, so vfs asks for
		// Upload and Overwrite.
		f, err := h.fs.OpenWrite(r.Filepath, vfs.WriteFlags{})
		if err != nil {
			return err
		}
		err = f.Truncate(int64(attrs.Size))
		if closeErr := f.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			return err
		}
	}
	if flags.Permissions {
		if err := h.fs.Chmod(r.Filepath, attrs.FileMode().Perm()); err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		if err := h.fs.Chtimes(r.Filepath, attrs.AccessTime(), attrs.ModTime()); err != nil {
			return err
		}
	}
	return nil
}

// Filelist answers List, Stat and Readlink.
func (h *handlers) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	switch r.Method {
	case "List":
		dir, err := h.fs.OpenDir(r.Filepath)
		if err != nil {
			return nil, sftpError(err)
		}
		return &dirLister{dir: dir}, nil
	case "Stat":
		info, err := h.fs.Stat(r.Filepath)
		if err != nil {
			return nil, sftpError(err)
		}
		return single{info}, nil
	case "Readlink":
		target, err := h.fs.Readlink(r.Filepath)
		if err != nil {
			return nil, sftpError(err)
		}
		return single{linkTarget(target)}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// Lstat answers lstat without following a final symlink.
func (h *handlers) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	info, err := h.fs.Lstat(r.Filepath)
	if err != nil {
		return nil, sftpError(err)
	}
	return single{info}, nil
}

// sftpError maps jail errors to SFTP status codes the client understands; other errors keep their text.
func sftpError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, vfs.ErrPermissionDenied):
		return sftp.ErrSSHFxPermissionDenied
	case errors.Is(err, fs.ErrNotExist):
		return sftp.ErrSSHFxNoSuchFile
	default:
		return err
	}
}

// transfer is an open file that writes its transfer-log line when the client closes it. For uploads, vfs
// syncs the file in Close, so the client hears "ok" only once the data is durable.
type transfer struct {
	*vfs.File
	op, path string
	started  time.Time
	sess     *session.Session
	failed   error
}

func (t *transfer) Close() error {
	err := t.File.Close()
	if err == nil {
		err = t.failed
	}
	t.sess.Record(t.op, t.path, t.started, t.BytesWritten(), t.BytesRead(), err)
	return sftpError(err)
}

// TransferError is called by pkg/sftp when the session ends with the file still open (the client vanished).
func (t *transfer) TransferError(err error) { t.failed = err }

// appendWriter serves SSH_FXF_APPEND handles: every write goes to the end of the file, whatever its offset, as
// the draft says and OpenSSH's sftp-server does. Clients number such writes from the file's size (OpenSSH `reput`
// and `put -a`, paramiko) or from 0 (curl --append, pkg/sftp's client); in request order, both append the same
// bytes. The file is opened with O_APPEND, so writes of several sessions appending at once all land at the end.
type appendWriter struct{ *transfer }

func (a appendWriter) WriteAt(b []byte, _ int64) (int, error) { return a.Write(b) }

// dirLister streams a directory to pkg/sftp, which asks for consecutive windows of entries.
type dirLister struct {
	dir     *vfs.Dir
	next    int64 // offset of the first entry not yet handed out
	pending []fs.FileInfo
	done    bool
}

func (l *dirLister) ListAt(buf []os.FileInfo, offset int64) (int, error) {
	if offset != l.next {
		return 0, sftp.ErrSSHFxFailure // pkg/sftp lists sequentially; anything else is a broken request
	}
	for len(l.pending) < len(buf) && !l.done {
		batch, err := l.dir.Next(max(listBatch, len(buf)))
		l.pending = append(l.pending, batch...)
		if errors.Is(err, io.EOF) {
			l.done = true
		} else if err != nil {
			return 0, sftpError(err)
		}
	}
	n := copy(buf, l.pending)
	l.pending = l.pending[n:]
	l.next += int64(n)
	if n < len(buf) && l.done {
		return n, io.EOF
	}
	return n, nil
}

func (l *dirLister) Close() error { return l.dir.Close() }

// single is a ListerAt of one entry (Stat, Lstat, Readlink).
type single struct{ info fs.FileInfo }

func (s single) ListAt(buf []os.FileInfo, offset int64) (int, error) {
	if offset > 0 || len(buf) == 0 {
		return 0, io.EOF
	}
	buf[0] = s.info
	return 1, io.EOF
}

// linkTarget is the FileInfo pkg/sftp expects for Readlink: the target in Name.
type linkTarget string

func (l linkTarget) Name() string       { return string(l) }
func (l linkTarget) Size() int64        { return 0 }
func (l linkTarget) Mode() fs.FileMode  { return fs.ModeSymlink }
func (l linkTarget) ModTime() time.Time { return time.Time{} }
func (l linkTarget) IsDir() bool        { return false }
func (l linkTarget) Sys() any           { return nil }
