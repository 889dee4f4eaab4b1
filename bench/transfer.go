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
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pier-dev/pier/bench/internal/peers"
	"github.com/pier-dev/pier/bench/internal/report"
)

// The SSH ciphers of the SFTP cells, by the name the table uses.
// The second is no cipher option at all: what OpenSSH's sftp negotiates with each server when the user sets
// nothing (chacha20-poly1305 with OpenSSH and SFTPGo, aes128-ctr with pier, which does not offer chacha20:
// server/sftp/server.go says why; the cipher rows show its ceiling).
var ciphers = []struct{ short, openssh string }{
	{aes128GCM, "aes128-gcm@openssh.com"},
	{clientDefault, ""},
}

// The ciphers' short names, as the table shows them (and OpenSSL names ChaCha20-Poly1305).
const (
	aes128GCM        = "aes128-gcm"
	chacha20Poly1305 = "chacha20-poly1305"
	clientDefault    = "OpenSSH's default cipher"
)

// protocolSFTP is the protocol of the SFTP cells; the others are FTP and FTPS.
const protocolSFTP = "SFTP"

// parallel is the number of streams of the parallel cells; each moves size/parallel bytes, so that every cell
// moves the same amount.
const parallel = 8

// writeClientFiles writes the client's files: one of -size random bytes and parallel parts of it (hard links
// would share an inode, and the parts must be files of their own size), and 1,000 files of 4 KiB for the batch.
func (b *bench) writeClientFiles() error {
	if err := os.MkdirAll(filepath.Join(b.client, "batch"), 0o755); err != nil {
		return err
	}
	// Random bytes: nothing on the way can compress them.
	if err := writeRandom(filepath.Join(b.client, "src"), b.o.size); err != nil {
		return err
	}
	for i := range parallel {
		if err := writeRandom(b.part(i), b.o.size/parallel); err != nil {
			return err
		}
	}
	for i := range 1000 {
		if err := writeRandom(filepath.Join(b.client, "batch", fmt.Sprintf("f%04d", i)), 4*kib); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) part(i int) string { return filepath.Join(b.client, fmt.Sprintf("src-%d", i)) }

func writeRandom(file string, size int64) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = io.CopyN(f, rand.Reader, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// placeDownloads links the client's files into a server's folder as down and down-0..7, readable by the bench
// user. Links, not copies: tmpfs holds one copy for every server.
func (b *bench) placeDownloads(root string) error {
	link := func(src, name string) error {
		dst := filepath.Join(root, name)
		_ = os.Remove(dst)
		return os.Link(src, dst)
	}
	if err := link(filepath.Join(b.client, "src"), "down"); err != nil {
		return err
	}
	for i := range parallel {
		if err := link(b.part(i), fmt.Sprintf("down-%d", i)); err != nil {
			return err
		}
	}
	return nil
}

// transfer is one throughput cell.
type transfer struct {
	protocol string // SFTP, FTP, FTPS
	upload   bool
	cipher   string // SFTP: the OpenSSH cipher name
	label    string // SFTP: the cipher's short name
	streams  int
}

func (t transfer) name() string {
	dir := "download"
	if t.upload {
		dir = "upload"
	}
	switch {
	case t.protocol != protocolSFTP:
		return fmt.Sprintf("%s %s", t.protocol, dir)
	case t.streams == 1:
		return fmt.Sprintf("SFTP %s %s, 1 stream", dir, t.label)
	}
	return fmt.Sprintf("SFTP %s %s, %d parallel", dir, t.label, t.streams)
}

func (b *bench) sftpTransfers(ctx context.Context) ([]*report.Row, error) {
	cells := make([]transfer, 0, 2*len(ciphers)*2)
	for _, streams := range []int{1, parallel} {
		for _, c := range ciphers {
			for _, upload := range []bool{false, true} {
				cells = append(cells, transfer{protocol: protocolSFTP, upload: upload, cipher: c.openssh, label: c.short, streams: streams})
			}
		}
	}
	return b.transfers(ctx, cells, func(k kind) bool { return k.sftp })
}

func (b *bench) ftpTransfers(ctx context.Context) ([]*report.Row, error) {
	cells := make([]transfer, 0, 4)
	for _, protocol := range []string{"FTP", "FTPS"} {
		for _, upload := range []bool{false, true} {
			cells = append(cells, transfer{protocol: protocol, upload: upload, streams: 1})
		}
	}
	return b.transfers(ctx, cells, func(k kind) bool { return k.ftp })
}

// transfers runs the selected cells against the servers want picks: for each cell, rounds times pier and then
// each peer. Each cell gives two rows: throughput (MB/s, 10^6 bytes, as curl and OpenSSH print them) and the
// server's CPU seconds per GiB moved.
func (b *bench) transfers(ctx context.Context, cells []transfer, want func(kind) bool) ([]*report.Row, error) {
	var selected []transfer
	for _, c := range cells {
		if b.selected(c.name()) {
			selected = append(selected, c)
		}
	}
	if len(selected) == 0 {
		return nil, nil
	}
	servers, err := b.fleet(ctx, filepath.Join(b.o.workDir, "serve"), want)
	if err != nil {
		return nil, err
	}
	defer stopAll(servers)
	for _, s := range servers {
		if err := b.placeDownloads(s.Root); err != nil {
			return nil, err
		}
	}
	var rows []*report.Row
	for _, c := range selected {
		speed := &report.Row{Name: c.name(), Unit: "MB/s"}
		cpu := &report.Row{Name: c.name() + ", server CPU", Unit: "CPU s/GiB", LowerIsBetter: true}
		for round := range b.o.rounds {
			for _, s := range servers {
				wall, used, err := measure(s, func() error { return b.runTransfer(ctx, s, c) })
				if err != nil {
					return nil, fmt.Errorf("%s: %w", c.name(), err)
				}
				moved := float64(b.o.size)
				speed.Add(s.Name, moved/wall.Seconds()/1e6)
				cpu.Add(s.Name, used.Seconds()/(moved/gib))
				b.log.Info(c.name(), "round", round+1, "server", s.Name, "MB/s", fmt.Sprintf("%.0f", moved/wall.Seconds()/1e6),
					"cpu", used.Round(time.Millisecond))
			}
			if err := checkRunning(servers); err != nil {
				return nil, err
			}
		}
		rows = append(rows, speed, cpu)
	}
	return rows, nil
}

// runTransfer moves the cell's bytes once, with c.streams clients at the same time, and checks that every
// uploaded file arrived whole.
func (b *bench) runTransfer(ctx context.Context, s *peers.Server, c transfer) error {
	type job struct{ local, remote string }
	jobs := []job{{filepath.Join(b.client, "src"), "down"}}
	if c.streams > 1 {
		jobs = jobs[:0]
		for i := range c.streams {
			jobs = append(jobs, job{b.part(i), fmt.Sprintf("down-%d", i)})
		}
	}
	if c.upload {
		for i := range jobs {
			jobs[i].remote = strings.Replace(jobs[i].remote, "down", "up", 1)
			_ = os.Remove(filepath.Join(s.Root, jobs[i].remote)) // each upload creates its file
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Go(func() {
			var cmd *exec.Cmd
			if c.protocol == protocolSFTP {
				cmd = b.sftpTransfer(ctx, s, c.cipher, c.upload, j.local, j.remote, i)
			} else {
				cmd = b.curlTransfer(ctx, s, c.protocol == "FTPS", c.upload, j.local, j.remote)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if !c.upload {
		return nil
	}
	for _, j := range jobs {
		want, err := os.Stat(j.local)
		if err != nil {
			return err
		}
		got, err := os.Stat(filepath.Join(s.Root, j.remote))
		if err != nil {
			return fmt.Errorf("the upload %s is not there: %w", j.remote, err)
		}
		if got.Size() != want.Size() {
			return fmt.Errorf("the upload %s has %d bytes, want %d", j.remote, got.Size(), want.Size())
		}
	}
	return nil
}

// sshOptions are OpenSSH's options for every bench connection: the bench key only, no user or system
// configuration, and no host key check (every server is a local one the bench started, with the bench's key).
func (b *bench) sshOptions(port string) []string {
	return []string{"-q", "-F", "/dev/null", "-P", port, "-i", b.env.ClientKey, "-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "Compression=no"}
}

// sftpTransfer is one OpenSSH sftp run: a download goes to /dev/null, so that only the server and the network
// path are measured, not the client's file system.
func (b *bench) sftpTransfer(ctx context.Context, s *peers.Server, cipher string, upload bool, local, remote string, n int) *exec.Cmd {
	batch := fmt.Sprintf("get %s /dev/null\n", remote)
	if upload {
		batch = fmt.Sprintf("put %s %s\n", local, remote)
	}
	file := filepath.Join(b.o.workDir, fmt.Sprintf("batch-%d", n))
	_ = os.WriteFile(file, []byte(batch), 0o600)
	args := b.sshOptions(port(s.SFTP))
	if cipher != "" {
		args = append(args, "-o", "Ciphers="+cipher)
	}
	args = append(args, "-b", file, peers.UserName+"@127.0.0.1")
	return exec.CommandContext(ctx, "sftp", args...)
}

// curlTransfer is one curl run over FTP, or explicit FTPS with PROT P (--ssl-reqd). TLS is pinned to 1.3 with
// AES-128-GCM for every server (OpenSSL-based vsftpd would otherwise follow curl's preference for AES-256 while
// the Go servers pick AES-128), so that all do the same work per byte.
func (b *bench) curlTransfer(ctx context.Context, s *peers.Server, tls, upload bool, local, remote string) *exec.Cmd {
	args := []string{"-sS", "--fail", "--netrc-file", b.netrc(), "--connect-timeout", "10"}
	if tls {
		args = append(args, "--ssl-reqd", "--cacert", b.env.CAFile, "--tlsv1.3", "--tls13-ciphers", "TLS_AES_128_GCM_SHA256")
	}
	url := fmt.Sprintf("ftp://%s/%s", s.FTP, remote)
	if upload {
		args = append(args, "-T", local, url)
	} else {
		args = append(args, "-o", "/dev/null", url)
	}
	return exec.CommandContext(ctx, "curl", args...)
}

// netrc holds the password for curl, so that it is not on a command line.
func (b *bench) netrc() string {
	file := filepath.Join(b.env.Dir, "netrc")
	if _, err := os.Stat(file); err != nil {
		_ = os.WriteFile(file, []byte(fmt.Sprintf("machine 127.0.0.1 login %s password %s\n", peers.UserName, b.env.Password)), 0o600)
	}
	return file
}

func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
