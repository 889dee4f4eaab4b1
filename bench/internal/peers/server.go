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

// Package peers starts the servers `make bench` compares: pier-server, and as peers OpenSSH's sshd with
// sftp-server, vsftpd and SFTPGo, each with a private configuration on 127.0.0.1 high ports, serving a folder the
// bench chooses, with the same user, keys and certificate.
package peers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The names of the servers, as the results name them.
const (
	NamePier    = "pier"
	NameOpenSSH = "openssh"
	NameVsftpd  = "vsftpd"
	NameSFTPGo  = "sftpgo"
)

// Server is one running server.
type Server struct {
	Name string
	// SFTP and FTP are the listen addresses, "" for a protocol the server does not serve here.
	SFTP, FTP string
	// Health is pier-server's health address (with /debug/pprof/), "" for the peers.
	Health string
	// Root is the folder served: the user's files, as the client sees them.
	Root string
	// StartToReady is the time from exec to every listener answering with its protocol's greeting.
	StartToReady time.Duration

	cmd    *exec.Cmd
	exited chan struct{}
	log    string
}

// PID is the server's root process: the tree under it is the server.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop ends the server: SIGTERM, then SIGKILL after five seconds. Only the process this package started is
// signalled; sshd and vsftpd end their session processes themselves when their listener goes.
func (s *Server) Stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM) // an error means it has exited already
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	return nil
}

// Running says whether the server still runs.
func (s *Server) Running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// started holds the PIDs of the servers running now.
var started sync.Map

// Started says whether pid is a server this package started and that still runs: the bench's other children are
// orphans of the servers' trees that it adopted.
func Started(pid int) bool {
	_, ok := started.Load(pid)
	return ok
}

// start runs cmd with its output in logFile and waits until each of the addresses greets (SSH for sftp, 220 for
// ftp). A server that exits or does not answer within 30 seconds is an error that quotes the end of its log.
func start(ctx context.Context, s *Server, cmd *exec.Cmd, logFile string) (*Server, error) {
	log, err := os.Create(logFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	defer func() { _ = log.Close() }()
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so that a Ctrl-C of the bench reaches the bench, which stops the servers in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	s.cmd, s.exited, s.log = cmd, make(chan struct{}), logFile
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", s.Name, err)
	}
	started.Store(cmd.Process.Pid, true)
	go func() { _ = cmd.Wait(); close(s.exited); started.Delete(cmd.Process.Pid) }()
	deadline, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, greeting := range []struct{ addr, want string }{{s.SFTP, "SSH-2.0-"}, {s.FTP, "220"}} {
		if greeting.addr == "" {
			continue
		}
		if err := waitGreeting(deadline, s, greeting.addr, greeting.want); err != nil {
			_ = s.Stop()
			return nil, fmt.Errorf("%s did not start: %w\n%s", s.Name, err, tail(logFile))
		}
	}
	s.StartToReady = time.Since(begin)
	return s, nil
}

// waitGreeting polls addr until a connection's first line starts with want. The poll is fine-grained (a refused
// connection costs microseconds), so the start-to-ready figure is not rounded up by it.
func waitGreeting(ctx context.Context, s *Server, addr, want string) error {
	for {
		if line, err := greeting(addr); err == nil && strings.HasPrefix(line, want) {
			return nil
		}
		select {
		case <-s.exited:
			return errors.New("it exited")
		case <-ctx.Done():
			return fmt.Errorf("%s does not answer %q: %w", addr, want, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

func greeting(addr string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	return bufio.NewReader(conn).ReadString('\n')
}

// tail is the last lines of a log file, for an error message.
func tail(file string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return filepath.Base(file) + ":\n  " + strings.Join(lines, "\n  ")
}

// FreePort returns a TCP port of 127.0.0.1 that nothing listens on now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// FreePortRange returns the first of n consecutive free ports of 127.0.0.1, for FTP passive ranges.
func FreePortRange(n int) (int, error) {
	for base := 40000 + os.Getpid()%5000*4; base < 65000-n; base += n {
		if rangeFree(base, n) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d consecutive free ports on 127.0.0.1", n)
}

func rangeFree(base, n int) bool {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			_ = ln.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		held = append(held, ln)
	}
	return true
}

func localAddr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
