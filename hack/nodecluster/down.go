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
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"
)

// fixedFolders are made by containerd and the CNI library at fixed paths, deepest first.
var fixedFolders = []string{"/var/lib/cni/results", "/var/lib/cni", "/run/containerd/s", "/run/containerd"}

// stopGrace is how long a component has to exit after SIGTERM.
const stopGrace = 15 * time.Second

// down stops what up started and gives the machine back as it was: it stops the controllers and the kubelet (so
// nothing recreates pods), removes every pod sandbox through the CRI (CNI DEL), stops the rest, kills what
// containerd left (shims, containers), unmounts, removes the iptables chains, the bridge and the kubelet's cgroups,
// restores the kernel settings, and deletes the cluster's data. Each step tolerates what is already gone, so down
// is safe to run twice, or after a failed up. It ends by checking that nothing is left.
func down(ctx context.Context, l layout, log *slog.Logger) error {
	var errs []error
	stop := func(names ...string) {
		for _, name := range names {
			if pid := l.runningPID(name); pid != 0 {
				log.Info("stopping", "component", name, "pid", pid)
				errs = append(errs, stopPID(pid, stopGrace))
			}
			_ = os.Remove(l.pidFile(name))
		}
	}
	stop(compScheduler, compControllerManager, compKubelet)
	if l.runningPID(compContainerd) != 0 {
		if err := removeSandboxes(ctx, l.containerdSocket(), log); err != nil {
			errs = append(errs, err)
		}
	}
	stop(compContainerd, compProxy, compAPIServer, compEtcd)
	// containerd's shims outlive containerd by design, and a shim killed before them leaves its container.
	for _, pid := range l.ownedProcesses() {
		log.Info("killing a process the node left", "process", describeProcess(pid))
		errs = append(errs, stopPID(pid, 5*time.Second))
	}
	if err := l.unmountAll(); err != nil {
		errs = append(errs, err)
	}
	log.Info("removing the iptables chains (KUBE-*, CNI-*, PIER-NODE-*)")
	errs = append(errs, removeChains(ctx))
	if linkExists(bridgeName) {
		log.Info("removing the bridge", "name", bridgeName)
		if _, err := run(ctx, "ip", "link", "delete", bridgeName); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, removeCgroups())
	errs = append(errs, l.restoreSysctls(log))
	// libcni's result cache and containerd's shim sockets have fixed folders, whatever the configuration says;
	// removed once empty, so that another program's files there stay.
	for _, dir := range fixedFolders {
		if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENOTEMPTY) {
			errs = append(errs, fmt.Errorf("removing %s: %w", dir, err))
		}
	}
	for _, dir := range l.removedByDown() {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", dir, err))
		}
	}
	left := leftovers(ctx, l)
	if len(left) > 0 {
		errs = append(errs, fmt.Errorf("left behind:\n  - %s", strings.Join(left, "\n  - ")))
	}
	return errors.Join(errs...)
}

// leftovers lists whatever of the node is still on the machine: processes, the bridge, iptables chains, mounts
// and cgroups. Empty after a complete down.
func leftovers(ctx context.Context, l layout) []string {
	var out []string
	for _, pid := range l.ownedProcesses() {
		out = append(out, "process "+describeProcess(pid))
	}
	if linkExists(bridgeName) {
		out = append(out, "bridge "+bridgeName)
	}
	chains, err := remainingChains(ctx)
	if err != nil {
		out = append(out, "iptables could not be read: "+err.Error())
	}
	for _, c := range chains {
		out = append(out, "iptables chain "+c)
	}
	mounts, err := l.mounts()
	if err != nil {
		out = append(out, "mounts could not be read: "+err.Error())
	}
	for _, m := range mounts {
		out = append(out, "mount "+m)
	}
	for _, c := range cgroupDirs() {
		out = append(out, "cgroup "+c)
	}
	return out
}
