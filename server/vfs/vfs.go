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

// Package vfs gives each pier-server user a filesystem jailed to their home directory.
//
// The SFTP and FTP front ends pass client paths to this package unchanged. Every path is cleaned as if the home
// directory were "/", and every access goes through an os.Root opened on the home directory, so "..", absolute
// paths and symbolic links cannot reach a file outside it, even if the tree changes while a request runs. Each
// method checks the user's Permissions before touching the disk.
//
// Errors name the client's view of the path ("/reports/q1.csv"), never the path on the server's disk, since
// front ends pass them on to clients. They are *fs.PathError (*os.LinkError for Rename) wrapping the underlying
// error, so errors.Is(err, fs.ErrNotExist) and os.IsNotExist work.
package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// MaxPathLength is the longest client path accepted, in bytes. It is Linux's PATH_MAX, the longest path other
// tools working on the same volume can handle, and it bounds the work done per request.
const MaxPathLength = 4096

// Modes for what this package creates. Clients cannot choose them: a mode from the client could make files
// readable by other local users of the volume, and the owner of the volume (the pier-server process) can
// always change them later with Chmod.
const (
	dirMode  fs.FileMode = 0o750
	fileMode fs.FileMode = 0o640
)

var (
	// ErrPermissionDenied is wrapped by every error caused by a Permission the user lacks. It wraps
	// fs.ErrPermission so front ends that only know the standard errors still answer "permission denied".
	ErrPermissionDenied = fmt.Errorf("%w by the user's pier permissions", fs.ErrPermission)

	// ErrInvalidPath is wrapped by the error for a client path that cannot name a file at all: one with a NUL
	// byte, or longer than MaxPathLength.
	ErrInvalidPath = errors.New("invalid path")

	// errHomeDirectory refuses removing or renaming the home directory: it is the user's "/", and the server
	// needs it to exist for the whole session. It wraps fs.ErrPermission so clients see "permission denied".
	errHomeDirectory = fmt.Errorf("%w: the home directory itself cannot be removed or renamed", fs.ErrPermission)
)

// FS is one user's view of the storage: their home directory, seen as "/", and what they may do in it.
// Its methods are safe for concurrent use.
type FS struct {
	root  *os.Root
	perms Permissions
}

// Open opens the home directory homeDirectory (an absolute slash path such as "/alice"; "/" is the whole
// storage) inside storageRoot, creating it with mode 0o750 if it does not exist yet.
//
// The home directory is created and opened through an os.Root on storageRoot, so a symbolic link planted in
// the storage (for example "/alice" pointing to "/etc") cannot make the jail start outside the storage. A link
// that stays inside the storage is followed.
func Open(storageRoot, homeDirectory string, perms Permissions) (*FS, error) {
	if !strings.HasPrefix(homeDirectory, "/") {
		return nil, fmt.Errorf("home directory %q must be an absolute path such as /alice", homeDirectory)
	}
	name, err := resolve(homeDirectory)
	if err != nil {
		return nil, fmt.Errorf("home directory %q: %w", homeDirectory, err)
	}
	storage, err := os.OpenRoot(storageRoot)
	if err != nil {
		return nil, fmt.Errorf("open storage root: %w", err)
	}
	defer func() { _ = storage.Close() }() // read-only use; the home Root below keeps its own descriptor

	if err := storage.MkdirAll(name, dirMode); err != nil {
		return nil, fmt.Errorf("create home directory %s in storage %s: %w", homeDirectory, storageRoot, err)
	}
	home, err := storage.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("open home directory %s in storage %s: %w", homeDirectory, storageRoot, err)
	}
	return &FS{root: home, perms: perms}, nil
}

// Close releases the home directory. Files and directories already opened stay usable until closed.
func (f *FS) Close() error {
	return f.root.Close()
}

// resolve turns a client path into a name for os.Root. Cleaning it below "/" first removes every ".." that
// could climb above the home directory, so what remains can only escape through symbolic links, which os.Root
// refuses to follow out. The result is "." for the home directory itself and never starts with "/".
func resolve(clientPath string) (string, error) {
	if len(clientPath) > MaxPathLength {
		return "", fmt.Errorf("%w: it is %d bytes long, the limit is %d", ErrInvalidPath, len(clientPath), MaxPathLength)
	}
	if strings.IndexByte(clientPath, 0) >= 0 {
		return "", fmt.Errorf("%w: it contains a NUL byte", ErrInvalidPath)
	}
	cleaned := path.Clean("/" + clientPath)
	if cleaned == "/" {
		return ".", nil
	}
	return cleaned[1:], nil
}

// jailPath is how a resolved name looks to the client, used in error messages and Readlink results.
func jailPath(name string) string {
	if name == "." {
		return "/"
	}
	return "/" + name
}

// check is the first step of every method: refuse the operation if the user lacks need, then resolve the
// client path.
func (f *FS) check(op string, need Permission, clientPath string) (string, error) {
	if !f.perms.Has(need) {
		return "", &fs.PathError{Op: op, Path: clientPath, Err: denied(need)}
	}
	name, err := resolve(clientPath)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	return name, nil
}

func denied(need Permission) error {
	return fmt.Errorf("%w: %q is not granted", ErrPermissionDenied, need)
}

// pathError restates err from os.Root or os.File with the client's view of the path. The os errors name the
// path on the server's disk, which the client must not learn; their inner error (an errno, fs.ErrClosed, or
// os.Root's "path escapes from parent") is kept so errors.Is still works.
func pathError(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: jailPath(name), Err: withoutDiskPaths(err)}
}

// withoutDiskPaths is the inner error of the os path and link errors in err, which name paths on the server's
// disk: every such layer is taken off, so that none is left for a client to read.
func withoutDiskPaths(err error) error {
	for {
		var pathErr *fs.PathError
		var linkErr *os.LinkError
		switch {
		case errors.As(err, &pathErr):
			err = pathErr.Err
		case errors.As(err, &linkErr):
			err = linkErr.Err
		default:
			return err
		}
	}
}

// handleError restates an error of an open file or directory with the client's view of the path, which the os
// error would otherwise give as the path on the server's disk. Other errors, notably io.EOF, are returned as
// they are, since callers compare them with ==.
func handleError(op, name string, err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathError(op, name, err)
	}
	return err
}
