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

// Package sftp is pier-server's SFTP front end: an SSH server (golang.org/x/crypto/ssh) with modern algorithms
// only, that serves the SFTP subsystem (github.com/pkg/sftp's request server) over each user's jailed storage.
package sftp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/auth"
	"github.com/pier-dev/pier/server/conns"
	"github.com/pier-dev/pier/server/metrics"
	"github.com/pier-dev/pier/server/session"
)

const protocol = "sftp"

// Modern algorithms only, from Mozilla's "modern" OpenSSH guideline: no CBC, no SHA-1 MACs or signatures, no
// finite-field Diffie-Hellman. Strict KEX (the Terrapin fix) is negotiated by x/crypto/ssh whenever the client
// offers it. AES-CTR with SHA-2 MACs stays for clients built on libssh2 before 1.11 (curl, many libraries), which
// have no GCM.
//
// ChaCha20-Poly1305 is not offered. The client picks the cipher (its first that the server has), and OpenSSH
// lists chacha20-poly1305 first; golang.org/x/crypto's ChaCha20 has no amd64 assembly, so it seals about 550
// MB/s on one core here against 6,800 for AES-GCM and 1,000 for AES-CTR with HMAC-SHA2-256. Without it OpenSSH
// clients choose aes128-ctr with hmac-sha2-256-etm: 1.5x the throughput and 0.6x the server CPU per GiB of
// chacha20 (docs/performance.md, "SFTP ciphers"). PuTTY, WinSCP and Go clients go on to AES-GCM.
var (
	keyExchanges = []string{ssh.KeyExchangeMLKEM768X25519, ssh.KeyExchangeCurve25519, "curve25519-sha256@libssh.org"}
	ciphers      = []string{
		ssh.CipherAES128GCM, ssh.CipherAES256GCM, ssh.CipherAES128CTR, ssh.CipherAES256CTR,
	}
	macs = []string{ssh.HMACSHA512ETM, ssh.HMACSHA256ETM, ssh.HMACSHA512, ssh.HMACSHA256}
	// Client key signature algorithms: "ssh-rsa" (SHA-1) and DSA are left out.
	publicKeyAlgorithms = []string{
		ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoSKECDSA256,
		ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
	}
)

// maxAuthTries is how many authentication attempts one connection may make, as OpenSSH's MaxAuthTries.
const maxAuthTries = 6

// Settings are the parts of the configuration read for each new connection; a config reload swaps them.
type Settings struct {
	StorageRoot  string
	AuthMethods  []serverconfig.AuthMethod
	IdleTimeout  time.Duration
	LoginTimeout time.Duration
}

// Server accepts SSH connections and serves SFTP to logged-in users.
type Server struct {
	Auth     *auth.Authenticator
	Limiter  *auth.Limiter
	Sessions *auth.Sessions
	HostKeys *HostKeys
	Metrics  *metrics.Metrics
	Log      *slog.Logger

	settings atomic.Pointer[Settings]

	conns conns.Tracker
}

// SetSettings replaces the settings for connections accepted from now on.
func (s *Server) SetSettings(settings Settings) { s.settings.Store(&settings) }

// Serve accepts connections on ln until ln is closed.
func (s *Server) Serve(ln net.Listener) error {
	if s.settings.Load() == nil {
		return errors.New("sftp: SetSettings must be called before Serve")
	}
	return s.conns.Serve(ln, protocol, func(conn net.Conn) (closeFn, serve func()) {
		// A forced close ends the connection; its error says nothing useful.
		return func() { _ = conn.Close() }, func() { s.handleConn(conn) }
	})
}

// Shutdown waits for open connections to finish until ctx is done, then closes the rest. Close the listener
// first so no new connection arrives.
func (s *Server) Shutdown(ctx context.Context) { s.conns.Shutdown(ctx) }

// handleConn runs one client connection from the first byte to the end. A panic anywhere in it ends only this
// connection.
func (s *Server) handleConn(netConn net.Conn) {
	remote := session.RemoteAddr(netConn)
	log := s.Log.With("protocol", protocol, "remote", remote.String())
	defer func() {
		if r := recover(); r != nil {
			log.Error("panic while serving a connection; connection closed", "panic", r, "stack", string(debug.Stack()))
		}
		_ = netConn.Close() // may already be closed by the SSH layer
	}()
	defer s.Metrics.ConnectionOpened(protocol)()

	if err := s.Auth.Admit(remote.Addr()); err != nil {
		s.reject(log, "admission", err)
		return
	}
	release, err := s.Limiter.Acquire(remote.Addr())
	if err != nil {
		s.reject(log, "limit", err)
		return
	}
	defer release()

	settings := *s.settings.Load()
	conn := newIdleConn(netConn, settings.LoginTimeout)
	signers, err := s.HostKeys.Signers()
	if err != nil {
		log.Error("host keys", "error", err) // the previous keys, if any, are still offered
	}
	if len(signers) == 0 {
		return
	}

	failures := 0
	sshConfig := &ssh.ServerConfig{
		Config:                  ssh.Config{KeyExchanges: keyExchanges, Ciphers: ciphers, MACs: macs},
		MaxAuthTries:            maxAuthTries,
		ServerVersion:           "SSH-2.0-pier",
		PublicKeyAuthAlgorithms: publicKeyAlgorithms,
		AuthLogCallback: func(meta ssh.ConnMetadata, m string, err error) {
			if m == "none" {
				return // clients ask which methods exist first; that is not a login attempt
			}
			if err != nil {
				failures++
				s.Metrics.Login(protocol, m, "failure")
				log.Info("login failed", "username", meta.User(), "method", m, "reason", err.Error())
			}
		},
	}
	check := &loginCheck{server: s, remote: remote}
	for _, am := range settings.AuthMethods {
		switch am {
		case serverconfig.AuthMethodPassword:
			sshConfig.PasswordCallback = check.password(nil)
		case serverconfig.AuthMethodPublicKey:
			sshConfig.PublicKeyCallback = check.publicKey(nil)
		}
	}
	for _, signer := range signers {
		sshConfig.AddHostKey(signer)
	}

	sshConn, channels, requests, err := ssh.NewServerConn(conn, sshConfig)
	if err != nil {
		// Wrong passwords were counted one by one; a connection that failed with keys alone counts once.
		if failures > 0 && check.passwordAttempts == 0 {
			s.Auth.RecordFailure(remote.Addr())
		}
		log.Debug("handshake ended", "error", err)
		return
	}
	defer func() { _ = sshConn.Close() }() // also closes netConn; the deferred close above is then a no-op
	conn.loggedIn(settings.IdleTimeout)
	login, method, ok := acceptedLogin(sshConn)
	if !ok { // every callback that accepts a login returns it; this would be a bug, so fail closed
		log.Error("authentication succeeded without a login record; connection closed", "username", sshConn.User())
		return
	}
	s.Metrics.Login(protocol, method, "success")
	log = log.With("username", login.Account.Username)
	log.Info("logged in", "method", method, "clientVersion", string(sshConn.ClientVersion()))

	s.serveLoggedIn(log, sshConn, channels, requests, login, settings)
}

// serveLoggedIn serves the channels of an authenticated connection until it closes or a configuration change
// revokes the login.
func (s *Server) serveLoggedIn(log *slog.Logger, sshConn *ssh.ServerConn, channels <-chan ssh.NewChannel,
	requests <-chan *ssh.Request, login *auth.Login, settings Settings) {
	account := login.Account
	jail, err := session.OpenJail(settings.StorageRoot, account)
	if err != nil {
		log.Error("opening the user's jail", "error", err)
		return
	}
	defer func() { _ = jail.Close() }() // releases the directory handle; nothing was written through it
	remove, err := s.Sessions.Add(login, func() { _ = sshConn.Close() })
	if err != nil {
		return // a reload restricted the user during the login; Add logged why
	}
	defer remove()

	// The session adds user, protocol and remote to each transfer line itself.
	sess := &session.Session{Protocol: protocol, Username: account.Username, Remote: login.Remote, Log: s.Log, Metrics: s.Metrics}
	go ssh.DiscardRequests(requests)
	var channelsDone sync.WaitGroup
	for newChannel := range channels {
		if newChannel.ChannelType() != "session" {
			_ = newChannel.Reject(ssh.UnknownChannelType, "pier serves SFTP only; port forwarding is not available")
			continue
		}
		channel, channelRequests, err := newChannel.Accept()
		if err != nil {
			log.Debug("accepting a channel", "error", err)
			continue
		}
		channelsDone.Add(1)
		go func() {
			defer channelsDone.Done()
			serveChannel(log, channel, channelRequests, &handlers{fs: jail, sess: sess})
		}()
	}
	channelsDone.Wait()
	log.Info("logged out")
}

func (s *Server) reject(log *slog.Logger, reason string, err error) {
	label := reason
	switch {
	case errors.Is(err, auth.ErrBanned):
		label = "banned"
	case errors.Is(err, auth.ErrSourceNotAllowed):
		label = "source"
	}
	s.Metrics.ConnectionRejected(protocol, label)
	log.Info("connection refused", "reason", err.Error())
}
