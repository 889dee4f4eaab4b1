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
	"fmt"
	"log/slog"
	"math"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"
	"github.com/spf13/afero"

	"github.com/pier-dev/pier/server/session"
	"github.com/pier-dev/pier/server/vfs"
)

var (
	errNotSupported     = errors.New("not supported by this server")
	errRestartBeyondEnd = errors.New("the restart offset (REST) is beyond the end of the file")
)

// clientDriver is the ClientDriver of a logged-in user: an afero.Fs over the user's jail. ftpserverlib gives it
// absolute, cleaned paths; vfs resolves each of them inside the jail again and checks the user's permissions,
// so nothing here can reach outside the home directory. Operations that change something write one
// transfer-log line each.
type clientDriver struct {
	fs   *vfs.FS
	sess *session.Session
	conn *connection
	cwd  func() string // the client's working directory, for SITE arguments
	log  *slog.Logger
}

var (
	_ afero.Fs                                      = (*clientDriver)(nil)
	_ ftpserver.ClientDriverExtentionFileTransfer   = (*clientDriver)(nil)
	_ ftpserver.ClientDriverExtensionRemoveDir      = (*clientDriver)(nil)
	_ ftpserver.ClientDriverExtensionSite           = (*clientDriver)(nil)
	_ ftpserver.ClientDriverExtensionAvailableSpace = (*clientDriver)(nil)
)

// GetHandle opens a file for RETR, STOR or APPE. offset is the REST argument. An upload with an offset keeps
// the file's first offset bytes and replaces the rest, so a resumed upload ends up exactly as the client's file
// (ftpserverlib then seeks to offset); it needs the file to exist (nothing is created for a refused resume), and
// an offset beyond the end of the file is refused rather than leaving a hole of zeros. vfs asks for the overwrite
// permission whenever the file exists.
//
// ftpserverlib opens the file before the data connection exists, so STOR and REST+STOR do not cut the file here:
// the transfer does, when the first data arrives or when an empty upload succeeds. A data connection that fails
// (refused, never opened, aborted before any data) leaves the old file as it was.
func (c *clientDriver) GetHandle(name string, flags int, offset int64) (_ ftpserver.FileTransfer, err error) {
	defer c.recover("GetHandle", &err)
	started := time.Now()
	if flags&(os.O_WRONLY|os.O_RDWR) == 0 {
		f, err := c.fs.OpenRead(name)
		if err != nil {
			c.sess.Record("download", name, started, 0, 0, err)
			return nil, ftpError(err)
		}
		return c.newTransfer(f, "download", name, started), nil
	}
	appending := flags&os.O_APPEND != 0
	resuming := !appending && offset > 0
	f, err := c.fs.OpenWrite(name, vfs.WriteFlags{Create: !resuming, Append: appending})
	if err == nil && resuming {
		err = checkResumeOffset(f, offset)
		if err != nil {
			_ = f.Close() // nothing was written; the resume error is the one to report
		}
	}
	if err != nil {
		c.sess.Record("upload", name, started, 0, 0, err)
		return nil, ftpError(err)
	}
	t := c.newTransfer(f, "upload", name, started)
	if !appending {
		t.cutAt = offset
	}
	return t, nil
}

func checkResumeOffset(f *vfs.File, offset int64) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if offset > info.Size() {
		return fmt.Errorf("%w (%d > %d bytes)", errRestartBeyondEnd, offset, info.Size())
	}
	return nil
}

// Open opens a directory for listing (LIST, NLST, MLSD, STAT), or a file for reading.
func (c *clientDriver) Open(name string) (_ afero.File, err error) {
	defer c.recover("Open", &err)
	dir, err := c.fs.OpenDir(name)
	if err == nil {
		return &dirFile{dir: dir, fs: c.fs, name: name}, nil
	}
	if !errors.Is(err, syscall.ENOTDIR) {
		return nil, ftpError(err)
	}
	f, err := c.fs.OpenRead(name)
	if err != nil {
		return nil, ftpError(err)
	}
	return c.newTransfer(f, "download", name, time.Now()), nil
}

// OpenFile is afero's general open; ftpserverlib uses GetHandle and Open instead, so this only completes afero.Fs.
func (c *clientDriver) OpenFile(name string, flag int, _ os.FileMode) (_ afero.File, err error) {
	defer c.recover("OpenFile", &err)
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return c.Open(name)
	}
	started := time.Now()
	f, err := c.fs.OpenWrite(name, vfs.WriteFlags{
		Create: flag&os.O_CREATE != 0, Exclusive: flag&os.O_EXCL != 0,
		Truncate: flag&os.O_TRUNC != 0, Append: flag&os.O_APPEND != 0,
	})
	if err != nil {
		c.sess.Record("upload", name, started, 0, 0, err)
		return nil, ftpError(err)
	}
	return c.newTransfer(f, "upload", name, started), nil
}

func (c *clientDriver) Create(name string) (afero.File, error) {
	return c.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0)
}

// Mkdir serves MKD; the mode is always vfs's (clients cannot choose it).
func (c *clientDriver) Mkdir(name string, _ os.FileMode) (err error) {
	defer c.recover("Mkdir", &err)
	return c.record("mkdir", name, c.fs.Mkdir(name))
}

// MkdirAll creates name and its missing parents, one Mkdir (and one log line) each.
func (c *clientDriver) MkdirAll(name string, perm os.FileMode) (err error) {
	defer c.recover("MkdirAll", &err)
	parts := strings.Split(strings.Trim(path.Clean("/"+name), "/"), "/")
	for i := range parts {
		dir := "/" + strings.Join(parts[:i+1], "/")
		if info, err := c.fs.Stat(dir); err == nil && info.IsDir() {
			continue
		}
		if err := c.Mkdir(dir, perm); err != nil {
			return err
		}
	}
	return nil
}

// Remove serves DELE: files only, RMD removes directories.
func (c *clientDriver) Remove(name string) (err error) {
	defer c.recover("Remove", &err)
	return c.record("remove", name, c.fs.Remove(name))
}

// RemoveDir serves RMD: empty directories only.
func (c *clientDriver) RemoveDir(name string) (err error) {
	defer c.recover("RemoveDir", &err)
	return c.record("rmdir", name, c.fs.Rmdir(name))
}

// RemoveAll would delete a whole tree (SITE RMDIR); pier does not offer recursive deletion over FTP.
func (c *clientDriver) RemoveAll(string) error {
	return fmt.Errorf("recursive removal is %w", errNotSupported)
}

// Rename serves RNFR/RNTO. An existing file at the target is replaced atomically, as rename(2) and most FTP
// servers do (clients that upload to a temporary name and rename it at the end rely on that), if the user has
// the overwrite permission; otherwise the rename is refused.
func (c *clientDriver) Rename(from, to string) (err error) {
	defer c.recover("Rename", &err)
	return c.record("rename", from, c.fs.Rename(from, to))
}

func (c *clientDriver) Stat(name string) (_ os.FileInfo, err error) {
	defer c.recover("Stat", &err)
	info, err := c.fs.Stat(name)
	return info, ftpError(err)
}

func (c *clientDriver) Name() string { return "pier" }

// Chmod serves SITE CHMOD.
func (c *clientDriver) Chmod(name string, mode os.FileMode) (err error) {
	defer c.recover("Chmod", &err)
	return c.record("setstat", name, c.fs.Chmod(name, mode))
}

// Chown is refused: every file belongs to the server's own user.
func (c *clientDriver) Chown(string, int, int) error {
	return fmt.Errorf("changing the owner is %w", errNotSupported)
}

// Chtimes serves MFMT (clients keeping the original times of uploaded files).
func (c *clientDriver) Chtimes(name string, atime, mtime time.Time) (err error) {
	defer c.recover("Chtimes", &err)
	return c.record("setstat", name, c.fs.Chtimes(name, atime, mtime))
}

// GetAvailableSpace serves AVBL: the bytes an unprivileged writer may still use on the volume.
func (c *clientDriver) GetAvailableSpace(string) (_ int64, err error) {
	defer c.recover("GetAvailableSpace", &err)
	st, err := c.fs.Statvfs()
	if err != nil {
		return 0, ftpError(err)
	}
	if st.BlockSize > 0 && st.BlocksAvailable > math.MaxInt64/st.BlockSize {
		return math.MaxInt64, nil
	}
	return int64(st.BlocksAvailable * st.BlockSize), nil //nolint:gosec // overflow checked above
}

// Site answers every SITE command itself. ftpserverlib's own SITE handlers index their arguments unchecked
// ("SITE CHMOD 600" without a path panics) and offer recursive deletion and links; here only CHMOD is served.
func (c *clientDriver) Site(param string) *ftpserver.AnswerCommand {
	sub, args, _ := strings.Cut(strings.TrimSpace(param), " ")
	switch strings.ToUpper(sub) {
	case "CHMOD":
		modeText, name, ok := strings.Cut(strings.TrimSpace(args), " ")
		mode, err := strconv.ParseUint(modeText, 8, 32)
		if !ok || name == "" || err != nil || mode > 0o777 {
			return &ftpserver.AnswerCommand{Code: ftpserver.StatusSyntaxErrorParameters, Message: "Usage: SITE CHMOD <octal mode> <path>"}
		}
		if err := c.Chmod(c.absPath(name), os.FileMode(mode)); err != nil {
			return &ftpserver.AnswerCommand{Code: ftpserver.StatusActionNotTaken, Message: err.Error()}
		}
		return &ftpserver.AnswerCommand{Code: ftpserver.StatusOK, Message: "SITE CHMOD command successful"}
	case "HELP":
		return &ftpserver.AnswerCommand{Code: ftpserver.StatusHelpMessage, Message: "SITE CHMOD <octal mode> <path>"}
	default:
		return &ftpserver.AnswerCommand{Code: ftpserver.StatusCommandNotImplemented, Message: "Unsupported SITE command."}
	}
}

// absPath resolves a SITE argument against the working directory, as ftpserverlib does for other commands.
func (c *clientDriver) absPath(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join(c.cwd(), p)
}

func (c *clientDriver) record(op, name string, err error) error {
	c.sess.Record(op, name, time.Now(), 0, 0, err)
	return ftpError(err)
}

// recover turns a panic while serving a request into an error for that request; ftpserverlib would recover it
// too, but without a stack trace in pier's log.
func (c *clientDriver) recover(name string, err *error) {
	if r := recover(); r != nil {
		c.log.Error("panic in "+name, "panic", r, "stack", string(debug.Stack()))
		*err = fmt.Errorf("internal error in %s", name)
	}
}

// ftpError prepares a jail error for the reply ftpserverlib builds from it. A path that cannot name a file
// (NUL byte, too long) gets 553 "file name not allowed" for STOR, APPE and RNTO; permission errors keep vfs's
// wording ("permission denied by the user's pier permissions: "upload" is not granted"), which ftpserverlib
// sends with 550.
func ftpError(err error) error {
	if err != nil && errors.Is(err, vfs.ErrInvalidPath) {
		return fmt.Errorf("%w: %w", ftpserver.ErrFileNameNotAllowed, err)
	}
	return err
}
