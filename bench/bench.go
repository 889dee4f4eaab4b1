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
	"path/filepath"
	"time"

	"github.com/pier-dev/pier/bench/internal/peers"
	"github.com/pier-dev/pier/bench/internal/proc"
	"github.com/pier-dev/pier/bench/internal/report"
)

// starter starts one kind of server on a folder.
type starter interface {
	Start(ctx context.Context, root string) (*peers.Server, error)
}

// kind is a server the bench can start, and the protocols it is compared on.
type kind struct {
	name      string
	start     starter
	sftp, ftp bool
}

type bench struct {
	o     *options
	log   *slog.Logger
	env   *peers.Env
	pier  *peers.Pier
	base  *peers.Pier // the baseline build, nil without one
	ssh   *peers.OpenSSH
	kinds []kind // pier first
	// noSFTPGo says why SFTPGo is not measured, "" when it is.
	noSFTPGo string
	client   string // the client's files, on tmpfs
}

func newBench(o *options, log *slog.Logger) (*bench, error) {
	pierServer, err := program(o.pierServer, "pier-server binary (make bench builds it)")
	if err != nil {
		return nil, err
	}
	// A fresh work folder: files of an earlier, interrupted run would change what is measured.
	for _, dir := range []string{o.workDir, o.diskDir} {
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	wanted := func(name string) bool { return o.peers == nil || o.peers[name] }
	// sshd and vsftpd log in system users; without them the machine's accounts are left alone.
	systemUser := wanted(peers.NameOpenSSH) || wanted(peers.NameVsftpd)
	env, err := peers.NewEnv(filepath.Join(o.workDir, "env"), o.sftpgo, systemUser)
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, log: log, env: env, client: filepath.Join(o.workDir, "client")}
	if b.pier, err = peers.NewPier(env, peers.NamePier, pierServer); err != nil {
		return nil, err
	}
	if b.ssh, err = peers.NewOpenSSH(env); err != nil {
		return nil, err
	}
	vsftpd, err := peers.NewVsftpd(env)
	if err != nil {
		return nil, err
	}
	b.kinds = []kind{{name: peers.NamePier, start: b.pier, sftp: true, ftp: true}}
	if o.baseline != "" {
		path, err := program(o.baseline, "-baseline")
		if err != nil {
			return nil, err
		}
		if b.base, err = peers.NewPier(env, report.Baseline, path); err != nil {
			return nil, err
		}
		b.kinds = append(b.kinds, kind{name: report.Baseline, start: b.base, sftp: true, ftp: true})
	}
	if wanted(peers.NameOpenSSH) {
		b.kinds = append(b.kinds, kind{name: peers.NameOpenSSH, start: b.ssh, sftp: true})
	}
	if wanted(peers.NameVsftpd) {
		b.kinds = append(b.kinds, kind{name: peers.NameVsftpd, start: vsftpd, ftp: true})
	}
	if wanted(peers.NameSFTPGo) {
		if g, err := peers.NewSFTPGo(env); err != nil {
			b.noSFTPGo = err.Error()
			log.Warn("running without SFTPGo", "reason", err)
		} else {
			b.kinds = append(b.kinds, kind{name: peers.NameSFTPGo, start: g, sftp: true, ftp: true})
		}
	}
	if err := b.writeClientFiles(); err != nil {
		return nil, err
	}
	return b, nil
}

// program is the absolute path of a program the flag what names, which must exist.
func program(path, what string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return filepath.Abs(path)
}

func (b *bench) close() {
	if err := b.env.Close(); err != nil {
		b.log.Error("closing", "error", err)
	}
	for _, dir := range []string{b.o.workDir, b.o.diskDir} {
		_ = os.RemoveAll(dir) // the measured files; what stays is the report
	}
}

// peerNames are the peers' names in column order.
func (b *bench) peerNames() []string {
	return []string{peers.NameOpenSSH, peers.NameVsftpd, peers.NameSFTPGo}
}

// runAll runs every cell -cells selects and returns the rows in table order.
func (b *bench) runAll(ctx context.Context) ([]*report.Row, error) {
	var rows []*report.Row
	steps := []func(context.Context) ([]*report.Row, error){
		b.sftpTransfers, b.cipherCeilings, b.ftpTransfers, b.batches, b.idleSessions, b.startToReady, b.newLogin,
	}
	for _, step := range steps {
		r, err := step(ctx)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no cell matches -cells %q", b.o.cells)
	}
	if b.noSFTPGo != "" {
		for _, r := range rows {
			if r.Note == "" {
				r.Note = "SFTPGo not measured: " + b.noSFTPGo
			}
		}
	}
	return rows, nil
}

// selected says whether the cell named name runs.
func (b *bench) selected(name string) bool { return b.o.cells.MatchString(name) }

// fleet starts the servers of kinds that serve the protocol, each on its own folder under base.
func (b *bench) fleet(ctx context.Context, base string, want func(kind) bool) ([]*peers.Server, error) {
	var servers []*peers.Server
	for _, k := range b.kinds {
		if !want(k) {
			continue
		}
		root := filepath.Join(base, k.name)
		if err := b.env.PrepareRoot(root); err != nil {
			stopAll(servers)
			return nil, err
		}
		s, err := k.start.Start(ctx, root)
		if err != nil {
			stopAll(servers)
			return nil, err
		}
		servers = append(servers, s)
	}
	return servers, nil
}

func stopAll(servers []*peers.Server) {
	for _, s := range servers {
		_ = s.Stop()
	}
}

// measure runs work against s and returns the wall time and the CPU time s's process tree used for it. The CPU
// is read once the tree is back to the processes it had before (sshd's and vsftpd's session processes have
// exited and been reaped, so their time is in the listener's) and the orphans the bench adopted from it have
// exited (orphans.go), or after five seconds.
func measure(s *peers.Server, work func() error) (wall, cpu time.Duration, err error) {
	settle(time.Second)
	cpu0, n0, err := proc.Default.TreeCPU(s.PID())
	if err != nil {
		return 0, 0, err
	}
	begin := time.Now()
	if err := work(); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", s.Name, err)
	}
	wall = time.Since(begin)
	deadline := time.Now().Add(5 * time.Second)
	for {
		cpu1, n, err := proc.Default.TreeCPU(s.PID())
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", s.Name, err)
		}
		orphans, err := adopted()
		if err != nil {
			return 0, 0, err
		}
		living := 0
		for _, o := range orphans {
			cpu1 += o.CPU
			if o.State != 'Z' {
				living++
			}
		}
		if n <= n0 && living == 0 || time.Now().After(deadline) {
			reap(orphans)
			return wall, cpu1 - cpu0, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkRunning fails when a server died under the bench: its figures would be of nothing.
func checkRunning(servers []*peers.Server) error {
	var errs []error
	for _, s := range servers {
		if !s.Running() {
			errs = append(errs, fmt.Errorf("%s exited during the bench", s.Name))
		}
	}
	return errors.Join(errs...)
}
