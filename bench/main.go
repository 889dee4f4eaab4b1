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

// Command bench is the data-plane half of `make bench`: it runs pier-server and its peers (OpenSSH's sshd with
// sftp-server, vsftpd, SFTPGo) on 127.0.0.1, drives them with real clients (OpenSSH sftp, curl) and Go SSH clients,
// alternating pier and each peer round by round, and writes the medians, pier's ratio to the best peer and the
// servers' CPU seconds per GiB to bench/results/latest.json, bench/results/latest.md and docs/performance.md.
// See docs/performance.md; `go run ./bench -h` lists the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pier-dev/pier/bench/internal/peers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the flags; each has a BENCH_* variable, which the flag overrides.
type options struct {
	size       int64
	rounds     int
	sessions   int
	cells      *regexp.Regexp
	workDir    string // on tmpfs: the served folders and the client's files
	diskDir    string // on disk: the served folders of the on-disk cells
	pierServer string
	baseline   string          // another pier-server build measured beside pier, to show what a change gained
	peers      map[string]bool // the peers to run; nil runs all
	sftpgo     string
	outDir     string
	docs       string
}

func parseOptions(args []string) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	size := fs.String("size", envOr("BENCH_SIZE", "1G"), "bytes moved per transfer cell, such as 1G or 256M [$BENCH_SIZE]")
	rounds := fs.String("rounds", envOr("BENCH_ROUNDS", "5"), "rounds; every round runs pier and then each peer once per cell [$BENCH_ROUNDS]")
	sessions := fs.String("sessions", envOr("BENCH_SESSIONS", "200"), "idle SFTP sessions of the memory cell [$BENCH_SESSIONS]")
	cells := fs.String("cells", envOr("BENCH_CELLS", ""), "only the cells whose name matches this regular expression [$BENCH_CELLS]")
	o := &options{}
	fs.StringVar(&o.workDir, "work-dir", envOr("BENCH_WORK_DIR", "/dev/shm/pier-bench"), "a folder on tmpfs for served and client files [$BENCH_WORK_DIR]")
	fs.StringVar(&o.diskDir, "disk-dir", envOr("BENCH_DISK_DIR", "/var/tmp/pier-bench"), "a folder on disk for the on-disk cells [$BENCH_DISK_DIR]")
	fs.StringVar(&o.pierServer, "pier-server", envOr("BENCH_PIER_SERVER", "bin/pier-server"), "the pier-server binary [$BENCH_PIER_SERVER]")
	fs.StringVar(&o.baseline, "baseline", envOr("BENCH_BASELINE", ""), "another pier-server build to measure beside pier (pier-base), such as the build before a change [$BENCH_BASELINE]")
	peerList := fs.String("peers", envOr("BENCH_PEERS", "all"), "the peers to run: all, none, or names such as openssh,sftpgo [$BENCH_PEERS]")
	fs.StringVar(&o.sftpgo, "sftpgo", envOr("BENCH_SFTPGO", ""), "the SFTPGo binary (hack/build-sftpgo.sh); empty runs without it [$BENCH_SFTPGO]")
	fs.StringVar(&o.outDir, "out", "bench/results", "where latest.json and latest.md go")
	fs.StringVar(&o.docs, "docs", "docs/performance.md", "the page whose table is replaced; empty leaves it alone")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	if o.size, err = parseSize(*size); err != nil {
		return nil, fmt.Errorf("-size / BENCH_SIZE: %w", err)
	}
	if o.rounds, err = strconv.Atoi(*rounds); err != nil || o.rounds < 1 {
		return nil, fmt.Errorf("-rounds / BENCH_ROUNDS: want a whole number of at least 1, got %q", *rounds)
	}
	if o.sessions, err = strconv.Atoi(*sessions); err != nil || o.sessions < 1 {
		return nil, fmt.Errorf("-sessions / BENCH_SESSIONS: want a whole number of at least 1, got %q", *sessions)
	}
	if o.peers, err = parsePeers(*peerList); err != nil {
		return nil, fmt.Errorf("-peers / BENCH_PEERS: %w", err)
	}
	if o.cells, err = regexp.Compile(*cells); err != nil {
		return nil, fmt.Errorf("-cells / BENCH_CELLS: %w", err)
	}
	return o, nil
}

func run(ctx context.Context, args []string) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("make bench runs as root: sshd and vsftpd need it, and it creates the system user they log in")
	}
	if err := becomeSubreaper(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	b, err := newBench(o, log)
	if err != nil {
		return err
	}
	defer b.close()
	begin := time.Now()
	rows, err := b.runAll(ctx)
	if err != nil {
		return err
	}
	log.Info("bench done", "duration", time.Since(begin).Round(time.Second))
	return b.write(rows, time.Since(begin))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// parsePeers reads -peers: all (nil: every peer), none, or a comma-separated list of peer names.
func parsePeers(s string) (map[string]bool, error) {
	switch s {
	case "all":
		return nil, nil
	case "none":
		return map[string]bool{}, nil
	}
	known := map[string]bool{peers.NameOpenSSH: true, peers.NameVsftpd: true, peers.NameSFTPGo: true}
	out := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if !known[name] {
			return nil, fmt.Errorf("unknown peer %q: want all, none, or names of openssh, vsftpd, sftpgo", name)
		}
		out[name] = true
	}
	return out, nil
}
