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
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sys/unix"

	"github.com/pier-dev/pier/bench/controlplane/internal/progress"
	"github.com/pier-dev/pier/bench/internal/report"
	"github.com/pier-dev/pier/internal/credentials"
)

type bench struct {
	o      *options
	log    *slog.Logger
	builds []*build // pier, then pier-base when there is one
	// pool are pre-hashed passwords for the pre-hashed users, hashCPU the CPU time one of them cost to hash.
	pool    []hashed
	hashCPU time.Duration
	table   *table
	lock    *os.File
	// loads are the machine's 1-minute load averages sampled through the run, for the report: the machine is shared.
	loadsMu sync.Mutex
	loads   []float64
}

// sampleLoad records the machine's 1-minute load average now.
func (b *bench) sampleLoad() {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return
	}
	var load float64
	if _, err := fmt.Sscanf(string(data), "%f", &load); err != nil {
		return
	}
	b.loadsMu.Lock()
	b.loads = append(b.loads, load)
	b.loadsMu.Unlock()
}

// loadRange is the lowest and highest load average sampled.
func (b *bench) loadRange() (lo, hi float64, ok bool) {
	b.loadsMu.Lock()
	defer b.loadsMu.Unlock()
	if len(b.loads) == 0 {
		return 0, 0, false
	}
	return slices.Min(b.loads), slices.Max(b.loads), true
}

// poolSize pre-hashed passwords are made at the start, which also measures what one hash costs here.
const poolSize = 8

func newBench(ctx context.Context, o *options, log *slog.Logger) (_ *bench, err error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run `make bench-controlplane`, or " +
			"`export KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh --with-controller-manager)` first")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-controller-manager")); err != nil {
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS has no kube-controller-manager (hack/setup-envtest.sh "+
			"--with-controller-manager builds it): %w", err)
	}
	b := &bench{o: o, log: log, table: newTable()}
	if b.lock, err = lockWorkDir(o.workDir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	// A fresh folder: what a killed run left (etcd's data, builds) would change what is measured.
	if err := os.RemoveAll(o.workDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.workDir, 0o700); err != nil {
		return nil, err
	}
	if b.pool, b.hashCPU, err = hashPool(poolSize); err != nil {
		return nil, err
	}
	log.Info("one bcrypt hash at pier's cost", "cost", credentials.HashCost, "cpu", b.hashCPU.Round(time.Millisecond))
	revisions := []struct{ label, rev string }{{report.Pier, o.revision}}
	if o.baseline != "" {
		revisions = append(revisions, struct{ label, rev string }{report.Baseline, o.baseline})
	}
	for _, r := range revisions {
		bd, err := prepareBuild(ctx, log, r.label, r.rev, filepath.Join(o.workDir, "build-"+r.label))
		if err != nil {
			return nil, err
		}
		b.builds = append(b.builds, bd)
	}
	return b, nil
}

// lockWorkDir takes a lock beside the work folder, which a second run would otherwise wipe from under the first.
func lockWorkDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(dir+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("another bench-controlplane run uses %s (its lock %s.lock is held); wait for it, "+
			"or give this one another -work-dir: %w", dir, dir, err)
	}
	return f, nil
}

func (b *bench) close() {
	if err := os.RemoveAll(b.o.workDir); err != nil {
		b.log.Error("removing the work folder", "error", err)
	}
	if b.lock != nil {
		_ = b.lock.Close()
	}
}

// hashPool makes n passwords and their bcrypt hashes at pier's cost, one after the other on one thread, and
// returns the median thread CPU time of one hash: the floor of what a plaintext user costs the operator.
func hashPool(n int) ([]hashed, time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pool := make([]hashed, n)
	costs := make([]float64, n)
	for i := range pool {
		raw := make([]byte, 18)
		if _, err := rand.Read(raw); err != nil {
			return nil, 0, err
		}
		password := base64.RawURLEncoding.EncodeToString(raw)
		before, err := threadCPU()
		if err != nil {
			return nil, 0, err
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(password), credentials.HashCost)
		if err != nil {
			return nil, 0, err
		}
		after, err := threadCPU()
		if err != nil {
			return nil, 0, err
		}
		pool[i], costs[i] = hashed{password: password, hash: string(hash)}, float64(after-before)
	}
	return pool, time.Duration(report.Median(costs)), nil
}

// threadCPU is the CPU time of the calling OS thread.
func threadCPU() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0, fmt.Errorf("reading the thread's CPU time: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// runAll runs every selected scenario, each on every build in turn (pier, then pier-base), so that a burst of
// someone else's load on the machine hits both alike.
func (b *bench) runAll(ctx context.Context) error {
	for _, scenario := range b.o.selected() {
		for _, bd := range b.builds {
			begin := time.Now()
			b.sampleLoad()
			b.log.Info("scenario", "name", scenario, "manager", bd.label)
			var err error
			switch scenario {
			case scenarioPrehashed:
				err = b.runLoad(ctx, bd, prehashed)
			case scenarioGenerated:
				err = b.runLoad(ctx, bd, generated)
			case scenarioPlaintext:
				err = b.runLoad(ctx, bd, plaintext)
			case scenarioOneEndpoint:
				err = b.runOneEndpoint(ctx, bd)
			}
			if err != nil {
				return fmt.Errorf("scenario %s, manager %s: %w", scenario, bd.label, err)
			}
			b.sampleLoad()
			b.log.Info("scenario done", "name", scenario, "manager", bd.label, "took", time.Since(begin).Round(time.Second))
		}
	}
	return nil
}

// session is one scenario's control plane, watches, stand-in kubelet and manager.
type session struct {
	b       *bench
	build   *build
	dir     string
	cluster *cluster
	tracker *progress.Tracker
	manager *manager
	starts  int
	stop    context.CancelFunc
	kubelet chan struct{} // closed when the stand-in kubelet has stopped
}

// managerStartLimit bounds how long a manager may take to start its controllers.
const managerStartLimit = 2 * time.Minute

func (b *bench) startSession(ctx context.Context, bd *build, name string) (_ *session, err error) {
	s := &session{b: b, build: bd, dir: filepath.Join(b.o.workDir, name+"-"+bd.label), tracker: progress.New(time.Now)}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	begin := time.Now()
	if s.cluster, err = startCluster(ctx, bd, s.dir); err != nil {
		return nil, err
	}
	var watchCtx context.Context
	watchCtx, s.stop = context.WithCancel(ctx)
	k := newKubelet(s.cluster.admin, b.log)
	s.kubelet = make(chan struct{})
	go func() {
		defer close(s.kubelet)
		k.run(watchCtx)
	}()
	w := &watcher{tracker: s.tracker, log: b.log, onPod: k.observe}
	if err := startWatch(watchCtx, s.cluster.adminCfg, s.cluster.env.Scheme, w); err != nil {
		return nil, err
	}
	if err := s.startManager(ctx); err != nil {
		return nil, err
	}
	b.log.Info("control plane and manager up", "took", time.Since(begin).Round(time.Millisecond))
	return s, nil
}

// startManager starts a manager process and waits for its controllers.
func (s *session) startManager(ctx context.Context) error {
	s.starts++
	m, err := startManager(s.build, s.cluster.kubeconfig, s.dir, s.starts)
	if err != nil {
		return err
	}
	s.manager = m
	return m.waitStarted(ctx, managerStartLimit)
}

// logProgress logs how far the load is every half minute until the returned function is called (once or more),
// so that a long run shows it is alive.
func (s *session) logProgress(what string) func() {
	stop := make(chan struct{})
	var once sync.Once
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(30 * time.Second):
				s.b.sampleLoad()
				s.b.log.Info(what, "progress", s.tracker.Counts().String())
			}
		}
	}()
	return func() { once.Do(func() { close(stop) }) }
}

func (s *session) close() {
	if s.manager != nil {
		s.manager.stop()
	}
	if s.stop != nil {
		s.stop()
		<-s.kubelet
	}
	if s.cluster != nil {
		if err := s.cluster.stop(); err != nil {
			s.b.log.Warn("stopping the control plane", "error", err)
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		s.b.log.Warn("removing the scenario's folder", "error", err)
	}
}
