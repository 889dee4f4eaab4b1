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

package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pier-dev/pier/internal/localcluster/podrunner"
)

// execMarker is the first argument of the current binary re-executed as a wrapper of a control-plane binary.
const execMarker = "localcluster-exec"

// initialized records that Init ran: without it, a wrapper would start the program itself instead of etcd.
var initialized bool

// Init is podrunner.Init plus the wrapper the cluster starts etcd, kube-apiserver and kube-controller-manager
// through: envtest starts them with no way to ask for a parent-death signal, so each is started as this binary,
// which sets one and execs the real binary. Programs that call Start call Init first thing in main (or TestMain).
func Init() {
	podrunner.Init()
	initialized = true
	if len(os.Args) < 4 || os.Args[1] != execMarker {
		return
	}
	err := execChild(os.Args[2], os.Args[3], os.Args[4:])
	// execChild only returns on failure.
	_, _ = fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
	os.Exit(127)
}

// WriteControlPlaneWrappers writes into dir the wrappers of KUBEBUILDER_ASSETS's etcd, kube-apiserver and
// kube-controller-manager, so that each dies with this process even when it is killed; pass dir as
// controlplane.Options.BinaryDir. The program must call Init first thing in main.
func WriteControlPlaneWrappers(dir string) error {
	if !initialized {
		return errors.New("localcluster: call localcluster.Init first thing in main (or TestMain)")
	}
	return writeWrappers(dir, os.Getenv("KUBEBUILDER_ASSETS"), "etcd", "kube-apiserver", "kube-controller-manager")
}

// writeWrappers writes, for each binary name, an executable script in dir that runs this program as the wrapper
// of the binary of that name in assets (see Init). A script, because envtest takes only a path, with no way to put
// arguments before its own.
func writeWrappers(dir, assets string, names ...string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program's binary: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, name := range names {
		binary := filepath.Join(assets, name)
		if _, err := os.Stat(binary); err != nil {
			return fmt.Errorf("%w (KUBEBUILDER_ASSETS is %s; hack/setup-envtest.sh --with-controller-manager prints "+
				"a folder holding it)", err, assets)
		}
		script := fmt.Sprintf("#!/bin/sh\n# Written by pier's localcluster: runs %s so that it dies with process %d.\n"+
			"exec %s %s %d %s \"$@\"\n", name, os.Getpid(), shellQuote(self), execMarker, os.Getpid(), shellQuote(binary))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o700); err != nil {
			return fmt.Errorf("writing the wrapper of %s: %w", name, err)
		}
	}
	return nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// hostLockFile is the lock every local cluster on this machine holds while it runs. Every pier pod binds the same
// ports of the machine, so a second cluster (make demo twice, or make demo during the end-to-end tests) would have
// its pods fail with "address already in use". A fixed path rather than os.TempDir(): two programs with different
// TMPDIRs still share the ports.
const hostLockFile = "/tmp/pier-localcluster.lock"

var errLocked = errors.New("locked by another process")

// lockHost takes the lock in file (hostLockFile), waiting (and saying for whom) while another local cluster holds
// it, until ctx ends. The lock is released when the returned file is closed, or when this process dies.
func lockHost(ctx context.Context, log *slog.Logger, file, stateDir string) (*os.File, error) {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, os.ErrPermission) {
		// Created by another user: a read-only descriptor can be locked all the same.
		f, err = os.Open(file)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the local cluster lock: %w", err)
	}
	for logged := false; ; {
		err := lockFile(f)
		if err == nil {
			break
		}
		if !errors.Is(err, errLocked) {
			_ = f.Close()
			return nil, fmt.Errorf("locking %s: %w", file, err)
		}
		if !logged {
			holder, _ := io.ReadAll(io.LimitReader(f, 1024))
			_, _ = f.Seek(0, io.SeekStart)
			log.Warn("another local cluster is running on this machine, and every pier pod needs the same ports: "+
				"waiting for it to stop", "holder", strings.TrimSpace(string(holder)), "lock", file)
			logged = true
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("waiting for the other local cluster to stop: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	// Who holds it, for the next one's message; a lock file of another user is read-only, and that is fine.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte("pid "+strconv.Itoa(os.Getpid())+" ("+filepath.Base(os.Args[0])+"), state in "+stateDir+"\n"), 0)
	}
	return f, nil
}
