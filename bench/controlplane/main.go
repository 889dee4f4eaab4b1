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

// Command controlplane is the control-plane half of `make bench` (make bench-controlplane): it starts a control
// plane (envtest's etcd and kube-apiserver, and kube-controller-manager's deployment and replicaset controllers),
// runs the pier manager built from ./cmd/manager as a process of its own with the install's RBAC, applies
// TransferEndpoints and TransferUsers at scale, and measures how long the manager takes to reconcile them, what it
// costs (CPU seconds and peak RSS from /proc, reconcile latency from its metrics endpoint, API writes from the API
// server's audit log) and how fast a new user reaches its endpoint's config. It writes the rows, beside the targets
// of issue 14, to bench/results/controlplane.json and .md and to docs/performance.md. See docs/performance.md;
// `go run ./bench/controlplane -h` lists the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"syscall"
	"time"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/pier-dev/pier/internal/localcluster"
)

func main() {
	// The control plane's binaries run through wrappers that re-execute this program (see localcluster.Init).
	localcluster.Init()
	// controller-runtime's envtest and cache log through logr; without a logger they print a warning.
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-controlplane:", err)
		os.Exit(1)
	}
}

// Scenario names, for -scenarios.
const (
	scenarioPrehashed   = "prehashed"
	scenarioGenerated   = "generated"
	scenarioPlaintext   = "plaintext"
	scenarioOneEndpoint = "one-endpoint"
)

var scenarioNames = []string{scenarioPrehashed, scenarioGenerated, scenarioPlaintext, scenarioOneEndpoint}

// options are the flags; each has a BENCH_CP_* variable, which the flag overrides.
type options struct {
	endpoints        int // endpoints of the load scenarios
	usersPerEndpoint int
	oneEndpointUsers int // users of the one-endpoint scenario
	quick            bool
	scenarios        *regexp.Regexp
	timeout          time.Duration // how long a scenario may take to be reconciled
	quiet            time.Duration // the quiet window after a load
	revision         string        // the manager's revision; "" builds this working tree
	baseline         string        // another revision measured beside it, "" for none
	workers          int           // parallel creates
	workDir          string
	outDir           string
	docs             string
}

// Issue 14's sizes, and the quick mode's.
const (
	fullEndpoints  = 1000
	quickEndpoints = 100
)

func parseOptions(args []string) (*options, error) {
	fs := flag.NewFlagSet("bench-controlplane", flag.ContinueOnError)
	quickEnv, err := strconv.ParseBool(envOr("BENCH_CP_QUICK", "false"))
	if err != nil {
		return nil, fmt.Errorf("BENCH_CP_QUICK: want true or false, got %q", os.Getenv("BENCH_CP_QUICK"))
	}
	o := &options{}
	fs.BoolVar(&o.quick, "quick", quickEnv, "quick sizes for trying the bench out: 100 endpoints, a 20 s quiet window and a 300 s timeout, unless set otherwise [$BENCH_CP_QUICK]")
	endpoints := fs.String("endpoints", os.Getenv("BENCH_CP_ENDPOINTS"), "TransferEndpoints of the load scenarios (default 1000, quick 100) [$BENCH_CP_ENDPOINTS]")
	users := fs.String("users-per-endpoint", envOr("BENCH_CP_USERS_PER_ENDPOINT", "10"), "TransferUsers per endpoint of the load scenarios [$BENCH_CP_USERS_PER_ENDPOINT]")
	one := fs.String("one-endpoint-users", envOr("BENCH_CP_ONE_ENDPOINT_USERS", "1000"), "TransferUsers created at once on one endpoint [$BENCH_CP_ONE_ENDPOINT_USERS]")
	scenarios := fs.String("scenarios", envOr("BENCH_CP_SCENARIOS", ""), "only the scenarios whose name matches this regular expression: prehashed, generated, plaintext, one-endpoint [$BENCH_CP_SCENARIOS]")
	timeout := fs.String("timeout", os.Getenv("BENCH_CP_TIMEOUT"), "how long a scenario may take to be reconciled before it is reported as not finished (default 600s, quick 300s) [$BENCH_CP_TIMEOUT]")
	quiet := fs.String("quiet", os.Getenv("BENCH_CP_QUIET"), "the quiet window after a load, in which the manager's API writes are counted (default 60s, quick 20s) [$BENCH_CP_QUIET]")
	workers := fs.String("workers", envOr("BENCH_CP_WORKERS", "8"), "objects created in parallel [$BENCH_CP_WORKERS]")
	fs.StringVar(&o.revision, "revision", os.Getenv("BENCH_CP_REVISION"), "build the manager (pier) from this git revision instead of the working tree [$BENCH_CP_REVISION]")
	fs.StringVar(&o.baseline, "baseline", os.Getenv("BENCH_CP_BASELINE"), "also build the manager from this git revision and measure it as pier-base, scenario by scenario beside pier [$BENCH_CP_BASELINE]")
	fs.StringVar(&o.workDir, "work-dir", envOr("BENCH_CP_WORK_DIR", "/dev/shm/pier-bench-controlplane"), "where builds, etcd's data and logs go during the run; removed at the end [$BENCH_CP_WORK_DIR]")
	fs.StringVar(&o.outDir, "out", "bench/results", "where controlplane.json and controlplane.md go")
	fs.StringVar(&o.docs, "docs", "docs/performance.md", "the page whose control-plane table is replaced; empty leaves it alone")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	defaults := struct {
		endpoints      string
		timeout, quiet string
	}{"1000", "600s", "60s"}
	if o.quick {
		defaults.endpoints, defaults.timeout, defaults.quiet = "100", "300s", "20s"
	}
	for _, n := range []struct {
		flag, env, value, def string
		dst                   *int
	}{
		{"-endpoints", "BENCH_CP_ENDPOINTS", *endpoints, defaults.endpoints, &o.endpoints},
		{"-users-per-endpoint", "BENCH_CP_USERS_PER_ENDPOINT", *users, "", &o.usersPerEndpoint},
		{"-one-endpoint-users", "BENCH_CP_ONE_ENDPOINT_USERS", *one, "", &o.oneEndpointUsers},
		{"-workers", "BENCH_CP_WORKERS", *workers, "", &o.workers},
	} {
		if n.value == "" {
			n.value = n.def
		}
		if *n.dst, err = strconv.Atoi(n.value); err != nil || *n.dst < 1 || *n.dst > 100000 {
			return nil, fmt.Errorf("%s / %s: want a whole number from 1 to 100000, got %q", n.flag, n.env, n.value)
		}
	}
	for _, d := range []struct {
		flag, env, value, def string
		dst                   *time.Duration
	}{
		{"-timeout", "BENCH_CP_TIMEOUT", *timeout, defaults.timeout, &o.timeout},
		{"-quiet", "BENCH_CP_QUIET", *quiet, defaults.quiet, &o.quiet},
	} {
		if d.value == "" {
			d.value = d.def
		}
		if *d.dst, err = time.ParseDuration(d.value); err != nil || *d.dst <= 0 {
			return nil, fmt.Errorf("%s / %s: want a positive duration such as 600s or 10m, got %q", d.flag, d.env, d.value)
		}
	}
	if o.scenarios, err = regexp.Compile(*scenarios); err != nil {
		return nil, fmt.Errorf("-scenarios / BENCH_CP_SCENARIOS: %w", err)
	}
	if len(o.selected()) == 0 {
		return nil, fmt.Errorf("-scenarios / BENCH_CP_SCENARIOS: %q matches none of %v", *scenarios, scenarioNames)
	}
	return o, nil
}

// selected are the scenarios -scenarios selects, in the order they run.
func (o *options) selected() []string {
	var out []string
	for _, s := range scenarioNames {
		if o.scenarios.MatchString(s) {
			out = append(out, s)
		}
	}
	return out
}

// official says whether the run measures the project's figures: issue 14's sizes, every scenario, the working
// tree's manager alone. Any other run is a measurement of a change (or a try-out) and leaves the figures alone.
func (o *options) official() bool {
	return !o.quick && o.endpoints == fullEndpoints && o.usersPerEndpoint == 10 && o.oneEndpointUsers == 1000 &&
		len(o.selected()) == len(scenarioNames) && o.revision == "" && o.baseline == ""
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, args []string) error {
	o, err := parseOptions(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	begin := time.Now()
	b, err := newBench(ctx, o, log)
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.runAll(ctx); err != nil {
		return err
	}
	took := time.Since(begin)
	log.Info("bench done", "duration", took.Round(time.Second))
	return b.write(took)
}
