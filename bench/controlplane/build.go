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

package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// build is one manager to measure: its binary, and the CRDs and RBAC of the same revision, since a change to the
// manager may come with new CRD fields or permissions.
type build struct {
	label    string // the report's server name: pier or pier-base
	desc     string // which code it is, for the report
	manager  string
	crdDir   string
	roleFile string // the install's ClusterRole, config/rbac/role.yaml
}

// prepareBuild builds the manager of revision rev (the working tree when rev is "") into dir.
func prepareBuild(ctx context.Context, log *slog.Logger, label, rev, dir string) (*build, error) {
	top, err := gitOutput(ctx, "", "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("the bench builds the manager from a git checkout; run it from the repository: %w", err)
	}
	src := top
	var desc string
	if rev == "" {
		desc, err = describeWorkingTree(ctx, top)
	} else {
		src = filepath.Join(dir, "src")
		desc, err = exportRevision(ctx, top, rev, src)
	}
	if err != nil {
		return nil, err
	}
	b := &build{label: label, desc: desc, manager: filepath.Join(dir, "manager"),
		crdDir: filepath.Join(src, "config", "crd", "bases"), roleFile: filepath.Join(src, "config", "rbac", "role.yaml")}
	for _, f := range []string{b.crdDir, b.roleFile} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%s (%s) has no %s: %w", label, desc, f, err)
		}
	}
	begin := time.Now()
	// Static, as make build and the image build it.
	cmd := exec.CommandContext(ctx, "go", "build", "-o", b.manager, "./cmd/manager")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the manager of %s: %w\n%s", desc, err, out)
	}
	log.Info("built the manager", "as", label, "from", desc, "took", time.Since(begin).Round(time.Millisecond))
	return b, nil
}

// describeWorkingTree names the working tree's commit, and says when it has uncommitted changes.
func describeWorkingTree(ctx context.Context, top string) (string, error) {
	head, err := gitOutput(ctx, top, "log", "-1", "--format=%h (%s)")
	if err != nil {
		return "", err
	}
	branch, _ := gitOutput(ctx, top, "rev-parse", "--abbrev-ref", "HEAD")
	desc := "the working tree, " + branch + " at " + head
	if status, err := gitOutput(ctx, top, "status", "--porcelain", "--untracked-files=no"); err == nil && status != "" {
		desc += ", with uncommitted changes"
	}
	return desc, nil
}

// exportRevision writes the files of revision rev into dir (git archive: no worktree to clean up, nothing
// written into the repository) and describes it.
func exportRevision(ctx context.Context, top, rev, dir string) (string, error) {
	commit, err := gitOutput(ctx, top, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("%q is not a revision of this repository (a branch, tag or commit): %w", rev, err)
	}
	desc, err := gitOutput(ctx, top, "log", "-1", "--format=%h (%s)", commit)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", commit)
	cmd.Dir = top
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("git archive %s: %w", rev, err)
	}
	extractErr := extractTar(out, dir)
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("git archive %s: %w: %s", rev, err, stderr.String())
	}
	if extractErr != nil {
		return "", fmt.Errorf("extracting %s: %w", rev, extractErr)
	}
	return rev + " at " + desc, nil
}

// extractTar writes a tar stream's directories, files and symbolic links under dir; any path that would leave
// dir is refused.
func extractTar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !filepath.IsLocal(h.Name) {
			return fmt.Errorf("the archive holds %q, outside its folder", h.Name)
		}
		target := filepath.Join(dir, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			err = writeFile(target, tr, h.FileInfo().Mode().Perm())
		case tar.TypeSymlink:
			if filepath.IsAbs(h.Linkname) || !filepath.IsLocal(filepath.Join(filepath.Dir(h.Name), h.Linkname)) {
				return fmt.Errorf("the archive's link %q points outside its folder (%q)", h.Name, h.Linkname)
			}
			if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
				err = os.Symlink(h.Linkname, target)
			}
		default:
			continue // git archive writes a global header with the commit; nothing to extract
		}
		if err != nil {
			return err
		}
	}
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}

// gitOutput runs git in dir ("" for the current folder) and returns its trimmed output.
func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			err = fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(exitErr.Stderr)))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
