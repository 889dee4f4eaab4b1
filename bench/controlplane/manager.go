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
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pier-dev/pier/bench/controlplane/internal/metrics"
	"github.com/pier-dev/pier/bench/internal/proc"
)

// serverImage is what the endpoints' Deployments run; no pod runs it here.
const serverImage = "ghcr.io/pier-dev/pier-server:bench"

// manager is one run of the manager's process.
type manager struct {
	cmd        *exec.Cmd
	logFile    string
	metricsURL string
	readyURL   string
	started    time.Time
	exited     chan struct{}
	waitErr    error
	http       *http.Client
}

// startManager runs the manager binary as the install runs it, with its metrics served over plain HTTP on
// 127.0.0.1 (no TLS or authentication to get through for a scrape) and no leader election.
func startManager(b *build, kubeconfig, dir string, n int) (*manager, error) {
	metricsAddr, err := freeAddress()
	if err != nil {
		return nil, err
	}
	probeAddr, err := freeAddress()
	if err != nil {
		return nil, err
	}
	m := &manager{
		logFile:    filepath.Join(dir, fmt.Sprintf("manager-%d.log", n)),
		metricsURL: "http://" + metricsAddr + "/metrics",
		readyURL:   "http://" + probeAddr + "/readyz",
		exited:     make(chan struct{}),
		http:       &http.Client{Timeout: 10 * time.Second},
	}
	out, err := os.Create(m.logFile)
	if err != nil {
		return nil, err
	}
	m.cmd = exec.Command(b.manager,
		"--server-image="+serverImage,
		"--metrics-bind-address="+metricsAddr,
		"--metrics-secure=false",
		"--health-probe-bind-address="+probeAddr,
		"--leader-elect=false",
	)
	m.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	m.cmd.Stdout, m.cmd.Stderr = out, out
	// Its own process group, and killed when the bench dies, even by SIGKILL.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	m.started = time.Now()
	if err := m.cmd.Start(); err != nil {
		_ = out.Close()
		return nil, fmt.Errorf("starting the manager %s: %w", b.manager, err)
	}
	go func() {
		m.waitErr = m.cmd.Wait()
		_ = out.Close()
		close(m.exited)
	}()
	return m, nil
}

// freeAddress is a 127.0.0.1 address with a port nothing listens on now.
func freeAddress() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

func (m *manager) pid() int { return m.cmd.Process.Pid }

// running fails when the manager has exited: every figure after that would be of nothing.
func (m *manager) running() error {
	select {
	case <-m.exited:
		err := m.waitErr
		if err == nil {
			err = errors.New("exit status 0")
		}
		return fmt.Errorf("the manager exited (%w); the end of its log:\n%s", err, m.logTail(30))
	default:
		return nil
	}
}

// waitStarted waits until the manager answers its readiness probe and every controller has started its workers,
// which controller-runtime does once the controller's caches are synced.
func (m *manager) waitStarted(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if err := m.running(); err != nil {
			return err
		}
		if m.probeOK(ctx) {
			if names, err := m.controllers(ctx); err == nil && len(names) > 0 && m.workersStarted(names) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the manager did not start its controllers within %s: %w; the end of its log:\n%s",
				limit, ctx.Err(), m.logTail(30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (m *manager) probeOK(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.readyURL, nil)
	if err != nil {
		return false
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// controllers are the names of the manager's controllers, from its metrics (registered before their caches sync).
func (m *manager) controllers(ctx context.Context) ([]string, error) {
	s, err := m.scrape(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for name := range s.Controllers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// workersStarted says whether the log has controller-runtime's "Starting workers" line of every named controller.
func (m *manager) workersStarted(names []string) bool {
	data, err := os.ReadFile(m.logFile)
	if err != nil {
		return false
	}
	started := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `"msg":"Starting workers"`) {
			continue
		}
		for _, name := range names {
			if strings.Contains(line, `"controller":"`+name+`"`) {
				started[name] = true
			}
		}
	}
	return len(started) == len(names)
}

func (m *manager) scrape(ctx context.Context) (metrics.Snapshot, error) {
	return metrics.Scrape(ctx, m.http, m.metricsURL)
}

// cpu is the CPU time the manager has used since it started.
func (m *manager) cpu() (time.Duration, error) {
	cpu, _, err := proc.Default.TreeCPU(m.pid())
	return cpu, err
}

// peakRSS is the manager's peak resident memory since it started.
func (m *manager) peakRSS() (int64, error) {
	return proc.Default.PeakRSS(m.pid())
}

// kill ends the manager at once, as a crash or an eviction would.
func (m *manager) kill() {
	_ = m.cmd.Process.Kill()
	<-m.exited
}

// stop asks the manager to stop and kills it after a while.
func (m *manager) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(15 * time.Second):
		m.kill()
	}
}

// logTail is the last n lines of the manager's log.
func (m *manager) logTail(n int) string {
	data, err := os.ReadFile(m.logFile)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var errNotSettled = errors.New("not settled")

// settled says whether the manager has worked through everything its start queued: for every controller, the
// work queue is empty, no worker is busy, and it has reconciled at least want[controller] objects (each object
// is queued once when the caches first list them).
func settled(s metrics.Snapshot, want map[string]int) error {
	for name, n := range want {
		c := s.Get(name)
		if c.Depth > 0 || c.Active > 0 || c.Total() < float64(n) {
			return fmt.Errorf("%w: %s has %.0f queued, %.0f busy, %.0f of %d reconciled", errNotSettled, name, c.Depth,
				c.Active, c.Total(), n)
		}
	}
	return nil
}
