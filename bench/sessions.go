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
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/bench/internal/peers"
	"github.com/pier-dev/pier/bench/internal/proc"
	"github.com/pier-dev/pier/bench/internal/report"
)

// batches is the 1,000 x 4 KiB cell: one OpenSSH sftp `put -r` of the folder, served from tmpfs and from disk.
// It measures per-file costs (open, write, close, and any sync the server does at close) more than bytes.
func (b *bench) batches(ctx context.Context) ([]*report.Row, error) {
	var rows []*report.Row
	for _, where := range []struct{ label, dir string }{{"tmpfs", b.o.workDir}, {"disk", b.o.diskDir}} {
		name := "1,000 x 4 KiB files, one sftp put -r, " + where.label
		if !b.selected(name) {
			continue
		}
		r, err := b.batch(ctx, name, filepath.Join(where.dir, "batch"))
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

func (b *bench) batch(ctx context.Context, name, base string) ([]*report.Row, error) {
	servers, err := b.fleet(ctx, base, func(k kind) bool { return k.sftp })
	if err != nil {
		return nil, err
	}
	defer stopAll(servers)
	wall := &report.Row{Name: name, Unit: "s", LowerIsBetter: true}
	cpu := &report.Row{Name: name + ", server CPU", Unit: "CPU s", LowerIsBetter: true}
	batchFile := filepath.Join(b.o.workDir, "batch-put")
	if err := os.WriteFile(batchFile, []byte(fmt.Sprintf("put -r %s files\n", filepath.Join(b.client, "batch"))), 0o600); err != nil {
		return nil, err
	}
	for round := range b.o.rounds {
		for _, s := range servers {
			if err := os.RemoveAll(filepath.Join(s.Root, "files")); err != nil {
				return nil, err
			}
			took, used, err := measure(s, func() error {
				args := append(b.sshOptions(port(s.SFTP)), "-o", "Ciphers=aes128-gcm@openssh.com", "-b", batchFile, peers.UserName+"@127.0.0.1")
				cmd := exec.CommandContext(ctx, "sftp", args...)
				if out, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("sftp put -r: %w: %s", err, out)
				}
				entries, err := os.ReadDir(filepath.Join(s.Root, "files"))
				if err != nil {
					return fmt.Errorf("after put -r: %w", err)
				}
				if len(entries) != 1000 {
					return fmt.Errorf("after put -r the server has %d files, want 1000", len(entries))
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			wall.Add(s.Name, took.Seconds())
			cpu.Add(s.Name, used.Seconds())
			b.log.Info(name, "round", round+1, "server", s.Name, "seconds", took.Round(time.Millisecond), "cpu", used.Round(time.Millisecond))
		}
		if err := checkRunning(servers); err != nil {
			return nil, err
		}
	}
	return []*report.Row{wall, cpu}, nil
}

// idleSessions is the memory cell: a fresh server, then -sessions SFTP sessions opened (SSH login and the SFTP
// subsystem's version exchange) and left idle; the growth of the server tree's RSS and PSS, per session.
func (b *bench) idleSessions(ctx context.Context) ([]*report.Row, error) {
	name := fmt.Sprintf("memory per idle SFTP session (%d sessions)", b.o.sessions)
	if !b.selected(name) {
		return nil, nil
	}
	rss := &report.Row{Name: name + ", RSS", Unit: "KiB", LowerIsBetter: true}
	pss := &report.Row{Name: name + ", PSS", Unit: "KiB", LowerIsBetter: true}
	for round := range b.o.rounds {
		for _, k := range b.kinds {
			if !k.sftp {
				continue
			}
			r, p, err := b.idleSessionsOnce(ctx, k)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", name, k.name, err)
			}
			rss.Add(k.name, r)
			pss.Add(k.name, p)
			b.log.Info(name, "round", round+1, "server", k.name, "RSS KiB", fmt.Sprintf("%.0f", r), "PSS KiB", fmt.Sprintf("%.0f", p))
		}
	}
	return []*report.Row{rss, pss}, nil
}

func (b *bench) idleSessionsOnce(ctx context.Context, k kind) (rssKiB, pssKiB float64, err error) {
	root := filepath.Join(b.o.workDir, "idle", k.name)
	if err := b.env.PrepareRoot(root); err != nil {
		return 0, 0, err
	}
	s, err := k.start.Start(ctx, root)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = s.Stop() }()
	time.Sleep(time.Second) // let the new process finish starting up
	before, err := proc.Default.TreeMemory(s.PID())
	if err != nil {
		return 0, 0, err
	}
	var clients []*ssh.Client
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	for range b.o.sessions {
		c, err := b.dial(s, peers.UserName, b.env.Signer)
		if err != nil {
			return 0, 0, err
		}
		clients = append(clients, c)
		// NewClient opens the sftp subsystem and waits for the server's version: the session is then whole.
		if _, err := sftp.NewClient(c); err != nil {
			return 0, 0, fmt.Errorf("opening an SFTP session: %w", err)
		}
	}
	time.Sleep(time.Second) // every session's processes and buffers are in place
	after, err := proc.Default.TreeMemory(s.PID())
	if err != nil {
		return 0, 0, err
	}
	n := float64(b.o.sessions)
	return float64(after.RSS-before.RSS) / kib / n, float64(after.PSS-before.PSS) / kib / n, nil
}

func (b *bench) dial(s *peers.Server, user string, key ssh.Signer) (*ssh.Client, error) {
	return ssh.Dial("tcp", s.SFTP, &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // a local server the bench started with its own key
		Timeout:         5 * time.Second,
	})
}

// startToReady starts each server on an empty folder and times exec to every listener's greeting, rounds times.
func (b *bench) startToReady(ctx context.Context) ([]*report.Row, error) {
	const name = "start to ready"
	if !b.selected(name) {
		return nil, nil
	}
	row := &report.Row{Name: name, Unit: "ms", LowerIsBetter: true}
	for round := range b.o.rounds {
		for _, k := range b.kinds {
			root := filepath.Join(b.o.workDir, "start", k.name)
			if err := b.env.PrepareRoot(root); err != nil {
				return nil, err
			}
			s, err := k.start.Start(ctx, root)
			if err != nil {
				return nil, err
			}
			_ = s.Stop()
			row.Add(k.name, float64(s.StartToReady.Microseconds())/1000)
			b.log.Info(name, "round", round+1, "server", k.name, "took", s.StartToReady.Round(time.Microsecond))
		}
	}
	row.Note = "pier and SFTPGo: SFTP and FTP listeners; sshd: SFTP; vsftpd: FTP."
	return []*report.Row{row}, nil
}

// newLogin times a new login from the moment its configuration lands to the first SFTP login that succeeds:
// for pier a new user in its configuration file (written as a rename, as a Secret volume updates); for OpenSSH,
// whose users are system accounts, a new key in the AuthorizedKeysFile, which sshd reads at every login. SFTPGo's
// portable mode cannot add a user while it runs.
func (b *bench) newLogin(ctx context.Context) ([]*report.Row, error) {
	const name = "new login's first success after its config lands"
	if !b.selected(name) {
		return nil, nil
	}
	servers, err := b.fleet(ctx, filepath.Join(b.o.workDir, "newlogin"), func(k kind) bool {
		return k.name == peers.NamePier || k.name == report.Baseline || k.name == peers.NameOpenSSH
	})
	if err != nil {
		return nil, err
	}
	defer stopAll(servers)
	row := &report.Row{Name: name, Unit: "ms", LowerIsBetter: true,
		Note: "pier: a new user in its config file; OpenSSH: a new key in its AuthorizedKeysFile; SFTPGo's portable mode adds no users at run time."}
	for round := range b.o.rounds {
		for _, s := range servers {
			_, key, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return nil, err
			}
			signer, err := ssh.NewSignerFromKey(key)
			if err != nil {
				return nil, err
			}
			line := string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
			user := peers.UserName
			var landed time.Time
			switch s.Name {
			case peers.NamePier, report.Baseline:
				user = fmt.Sprintf("new-%d", round)
				p := b.pier
				if s.Name == report.Baseline {
					p = b.base
				}
				err = p.AddUser(user, line[:len(line)-1])
			default:
				err = b.ssh.SetAuthorizedKeys(b.env.AuthorizedKey, line[:len(line)-1])
			}
			landed = time.Now()
			if err != nil {
				return nil, err
			}
			took, err := b.firstLogin(ctx, s, user, signer, landed)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", name, s.Name, err)
			}
			row.Add(s.Name, float64(took.Microseconds())/1000)
			b.log.Info(name, "round", round+1, "server", s.Name, "took", took.Round(time.Millisecond))
		}
	}
	return []*report.Row{row}, nil
}

// firstLogin tries to log in every 10 ms until it works, and returns the time from landed to that success.
func (b *bench) firstLogin(ctx context.Context, s *peers.Server, user string, key ssh.Signer, landed time.Time) (time.Duration, error) {
	deadline := landed.Add(30 * time.Second)
	for {
		c, err := b.dial(s, user, key)
		if err == nil {
			took := time.Since(landed)
			_ = c.Close()
			return took, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no login within 30 s: %w", err)
		}
		select {
		case <-ctx.Done():
			return 0, errors.Join(err, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
