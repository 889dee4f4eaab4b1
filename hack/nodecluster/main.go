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

// Command nodecluster runs a real single-node Kubernetes on this machine, with no Docker and no registry:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kube-proxy built from the module source
// (hack/setup-envtest.sh --with-node), a private containerd with runc, and a bridge CNI network. hack/local-cluster.sh
// is its front end; test/e2e runs against it with PIER_E2E_TARGET=node (make test-e2e-node, docs/testing.md).
//
//	nodecluster up --bin DIR      start what does not run yet, wait until the node is Ready, print the kubeconfig
//	nodecluster load ARCHIVE...   import image archives into the node's containerd
//	nodecluster down [--purge]    stop everything up started and restore the machine; check that nothing is left
//	                              (--purge: also the certificates, images and logs kept for the next up)
//	nodecluster status            what runs, and what a down would still have to remove
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "local-cluster:", err)
		os.Exit(1)
	}
}

func mainErr() error {
	fs := flag.NewFlagSet("nodecluster", flag.ContinueOnError)
	state := fs.String("state", "/var/lib/pier-node", "folder of the node's lasting files (certificates, images, logs)")
	runDir := fs.String("run", "/run/pier-node", "folder of the node's runtime files, removed by down")
	binDir := fs.String("bin", os.Getenv("PIER_NODE_BIN"), "folder of the Kubernetes binaries (up)")
	nodeIP := fs.String("node-ip", "", "the node's address (up; default: the first IPv4 address of an interface that is up)")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long up waits for the node to be Ready")
	purge := fs.Bool("purge", false, "down: also remove the state folder (certificates, imported images, logs), for a cold start")
	fs.Usage = func() {
		_, _ = fmt.Fprintln(fs.Output(), "usage: nodecluster [flags] up|down|status|load ARCHIVE...|kubeconfig")
		fs.PrintDefaults()
	}
	if len(os.Args) < 2 {
		fs.Usage()
		return errors.New("no command")
	}
	cmd, args := os.Args[1], os.Args[2:]
	if err := fs.Parse(args); err != nil {
		return err
	}
	l := layout{state: *state, run: *runDir}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "up":
		return runUp(ctx, l, upOptions{binDir: *binDir, nodeIP: *nodeIP, timeout: *timeout}, log)
	case "down":
		return runDown(ctx, l, *purge, log)
	case "status":
		runStatus(ctx, l)
		return nil
	case "load":
		return runLoad(ctx, l, fs.Args(), log)
	case "kubeconfig":
		fmt.Println(l.Kubeconfig())
		return nil
	}
	fs.Usage()
	return fmt.Errorf("unknown command %q", cmd)
}

func runUp(ctx context.Context, l layout, opts upOptions, log *slog.Logger) error {
	if opts.binDir == "" {
		return errors.New("--bin is required: the folder hack/setup-envtest.sh --with-node prints")
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	opts.repoRoot = root
	start := time.Now()
	if err := up(ctx, l, opts, log); err != nil {
		var refused *refusedError
		if errors.As(err, &refused) {
			return err // nothing was started
		}
		return fmt.Errorf("up: %w (hack/local-cluster.sh down removes what was started)", err)
	}
	log.Info("the node is Ready", "after", time.Since(start).Round(time.Second), "kubeconfig", l.Kubeconfig())
	fmt.Println(l.Kubeconfig())
	return nil
}

func runDown(ctx context.Context, l layout, purge bool, log *slog.Logger) error {
	if os.Geteuid() != 0 {
		return errors.New("down: not root: the node's processes, mounts and iptables chains are root's (run it with sudo)")
	}
	start := time.Now()
	if err := down(ctx, l, log); err != nil {
		return fmt.Errorf("down: %w", err)
	}
	if purge {
		log.Info("removing the state folder", "path", l.state)
		if err := os.RemoveAll(l.state); err != nil {
			return fmt.Errorf("down --purge: %w", err)
		}
	}
	log.Info("the node is down; nothing is left", "after", time.Since(start).Round(time.Second))
	return nil
}

func runStatus(ctx context.Context, l layout) {
	for _, c := range componentCommands(l, network{}) {
		if pid := l.runningPID(c.name); pid != 0 {
			fmt.Printf("%-24s running, pid %d\n", c.name, pid)
		} else {
			fmt.Printf("%-24s not running\n", c.name)
		}
	}
	for _, left := range leftovers(ctx, l) {
		fmt.Println("present:", left)
	}
}

func runLoad(ctx context.Context, l layout, archives []string, log *slog.Logger) error {
	if len(archives) == 0 {
		return errors.New("load: name the image archives to import")
	}
	for _, archive := range archives {
		log.Info("importing", "archive", filepath.Base(archive))
		if _, err := l.importArchive(ctx, archive); err != nil {
			return fmt.Errorf("load: %w (is the node up? hack/local-cluster.sh up)", err)
		}
	}
	return nil
}
