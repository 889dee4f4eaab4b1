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
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"
)

// errLinkOutside is returned by Readlink for a link whose target is not (or cannot be shown to be) inside the
// home directory. Its text tells the client why without revealing the target.
var errLinkOutside = errors.New("the link does not resolve inside the home directory")

// Stat describes the file at p, following symbolic links (only those that stay inside the home directory).
func (f *FS) Stat(p string) (fs.FileInfo, error) { return f.describe("stat", p, f.root.Stat) }

// Lstat describes the file at p; if it is a symbolic link, it describes the link, wherever it points.
func (f *FS) Lstat(p string) (fs.FileInfo, error) { return f.describe("lstat", p, f.root.Lstat) }

// describe checks that the user may list, then describes p with stat (os.Root's Stat or Lstat).
func (f *FS) describe(op, p string, stat func(name string) (fs.FileInfo, error)) (fs.FileInfo, error) {
	name, err := f.check(op, List, p)
	if err != nil {
		return nil, err
	}
	info, err := stat(name)
	if err != nil {
		return nil, pathError(op, name, err)
	}
	return info, nil
}

// Mkdir creates the directory p with mode 0o750; its parent must exist. The client's requested mode is not
// used (see dirMode).
func (f *FS) Mkdir(p string) error {
	name, err := f.check("mkdir", Mkdir, p)
	if err != nil {
		return err
	}
	if err := f.root.Mkdir(name, dirMode); err != nil {
		return pathError("mkdir", name, err)
	}
	return nil
}

// Remove deletes the file p. A symbolic link is removed itself, never its target. Directories need Rmdir, so
// that a client's "delete file" never removes a directory.
func (f *FS) Remove(p string) error { return f.remove("remove", p, false) }

// Rmdir deletes the empty directory p.
func (f *FS) Rmdir(p string) error { return f.remove("rmdir", p, true) }

// remove deletes the entry p, which must be a directory if dir is set and must not be one otherwise. The home
// directory itself is never removed.
func (f *FS) remove(op, p string, dir bool) error {
	name, err := f.check(op, Delete, p)
	if err != nil {
		return err
	}
	if name == "." {
		return pathError(op, name, errHomeDirectory)
	}
	// The check and the removal are two steps; if the entry is swapped for another kind in between (a file for an
	// empty directory, say), that one is removed. Either way only an entry inside the home directory is affected.
	info, err := f.root.Lstat(name)
	if err != nil {
		return pathError(op, name, err)
	}
	switch {
	case info.IsDir() && !dir:
		return pathError(op, name, syscall.EISDIR)
	case !info.IsDir() && dir:
		return pathError(op, name, syscall.ENOTDIR)
	}
	if err := f.root.Remove(name); err != nil {
		return pathError(op, name, err)
	}
	return nil
}

// Rename moves from to to. Like POSIX rename(2) it replaces an existing file at to, atomically, which is what
// clients that upload to a temporary name and rename at the end rely on; replacing destroys the old file, so it
// needs Overwrite as well as Rename. Without Overwrite, Rename behaves as RenameNoReplace. An existing directory
// at to is not replaced. A symbolic link is moved itself; links and paths that lead outside the home directory
// fail.
func (f *FS) Rename(from, to string) error {
	if f.perms.Has(Overwrite) {
		return f.rename(from, to, nil)
	}
	return f.rename(from, to, errReplaceDenied)
}

// RenameNoReplace moves from to to and fails if to exists (SFTP version 3's rename). The check and the move are
// one step for files and links, so a file that appears at to meanwhile is never replaced.
func (f *FS) RenameNoReplace(from, to string) error {
	return f.rename(from, to, errTargetExists)
}

// rename moves from to to. With exists nil it replaces a file at to; otherwise it fails with exists if to exists.
func (f *FS) rename(from, to string, exists error) error {
	if !f.perms.Has(Rename) {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: denied(Rename)}
	}
	oldName, err := resolve(from)
	if err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	newName, err := resolve(to)
	if err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	fail := func(err error) error {
		return &os.LinkError{Op: "rename", Old: jailPath(oldName), New: jailPath(newName), Err: withoutDiskPaths(err)}
	}
	if oldName == "." || newName == "." {
		return fail(errHomeDirectory)
	}
	if exists == nil {
		if err := f.root.Rename(oldName, newName); err != nil {
			return fail(err)
		}
		return nil
	}
	return f.renameNoReplace(oldName, newName, func(err error) error {
		if errors.Is(err, fs.ErrExist) {
			err = exists
		}
		return fail(err)
	})
}

// renameNoReplace moves a file or link by linking the new name (link(2) fails if it exists, in the same step)
// and removing the old one. Directories cannot be linked, and some volumes (SMB, some FUSE file systems) do not
// support links: for those the existence check and rename(2) are two steps, and the only thing rename(2) could
// replace in between is an empty directory, never a file's data.
func (f *FS) renameNoReplace(oldName, newName string, fail func(error) error) error {
	info, err := f.root.Lstat(oldName)
	if err != nil {
		return fail(err)
	}
	if !info.IsDir() {
		err := f.root.Link(oldName, newName)
		switch {
		case err == nil:
			if err := f.root.Remove(oldName); err != nil {
				return fail(err)
			}
			return nil
		case errors.Is(err, fs.ErrExist):
			return fail(err)
		case !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, syscall.EXDEV):
			return fail(err)
		}
	}
	if _, err := f.root.Lstat(newName); err == nil {
		return fail(fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fail(err)
	}
	if err := f.root.Rename(oldName, newName); err != nil {
		return fail(err)
	}
	return nil
}

var (
	// errTargetExists refuses a rename that never replaces (SFTP version 3's rename).
	errTargetExists = fmt.Errorf("%w: the target exists and this rename does not replace it", fs.ErrExist)
	// errReplaceDenied refuses a rename that would replace a file to a user without Overwrite.
	errReplaceDenied = fmt.Errorf("%w: the target exists and replacing it needs %q", ErrPermissionDenied, Overwrite)
)

// Chtimes sets the access and modification times of p, following links inside the home directory. Clients
// use it to keep the original times of uploaded files, so it needs Upload.
func (f *FS) Chtimes(p string, atime, mtime time.Time) error {
	name, err := f.check("chtimes", Upload, p)
	if err != nil {
		return err
	}
	if err := f.root.Chtimes(name, atime, mtime); err != nil {
		return pathError("chtimes", name, err)
	}
	return nil
}

// Chmod sets the permission bits of p to mode's 0o777 bits, following links inside the home directory. The
// setuid, setgid and sticky bits are dropped: a client must not be able to create a setuid program on a
// volume that other pods may mount. Dropping rather than rejecting them accepts clients that send a full
// st_mode, file type bits included. The owner's read and write bits (and search, for a directory) are always
// kept: the owner is pier-server itself, and a mode such as 000 would lock every user, and the server, out of the
// file or the whole home directory.
func (f *FS) Chmod(p string, mode fs.FileMode) error {
	name, err := f.check("chmod", Upload, p)
	if err != nil {
		return err
	}
	info, err := f.root.Stat(name)
	if err != nil {
		return pathError("chmod", name, err)
	}
	keep := fs.FileMode(0o600)
	if info.IsDir() {
		keep = 0o700
	}
	if err := f.root.Chmod(name, mode.Perm()|keep); err != nil {
		return pathError("chmod", name, err)
	}
	return nil
}

// Readlink returns where the symbolic link p points, as a path inside the home directory ("/data/x"). It fails
// if the target is absolute or leads outside the home directory, so the client never learns paths of the
// server's disk. A link to a file that does not exist (yet) but would be inside is returned.
//
// The result is the target joined to the link's directory as the client named it. If that directory was
// reached through another link, the kernel would resolve the target from where that link leads instead; both
// are inside the home directory, and clients (like ls -l) only display the result.
func (f *FS) Readlink(p string) (string, error) {
	name, err := f.check("readlink", List, p)
	if err != nil {
		return "", err
	}
	target, err := f.root.Readlink(name)
	if err != nil {
		return "", pathError("readlink", name, err)
	}
	// Absolute targets are never inside the jail as os.Root sees it (it refuses to follow them).
	if path.IsAbs(target) {
		return "", pathError("readlink", name, errLinkOutside)
	}
	// First judge the target by its text, relative to the link's directory...
	resolved := path.Join(path.Dir(name), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return "", pathError("readlink", name, errLinkOutside)
	}
	// ...then let os.Root follow it, since links inside the target can lead elsewhere than its text suggests.
	// A missing file is fine: it would be created inside. Any other failure (os.Root's "path escapes", a
	// loop) means the target cannot be shown to be inside.
	if _, err := f.root.Stat(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", pathError("readlink", name, errLinkOutside)
	}
	return jailPath(resolved), nil
}
