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

// Package app assembles a whole pier-server from its configuration: the user table, limits and defender, the
// protocol front ends, the health and metrics endpoint, configuration reloading and graceful shutdown.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/auth"
	"github.com/pier-dev/pier/server/certs"
	"github.com/pier-dev/pier/server/ftp"
	"github.com/pier-dev/pier/server/metrics"
	"github.com/pier-dev/pier/server/secretwatch"
	"github.com/pier-dev/pier/server/sftp"
)

// Server is one running pier-server.
type Server struct {
	log      *slog.Logger
	users    *auth.Users
	defender *auth.Defender
	limiter  *auth.Limiter
	sessions *auth.Sessions
	metrics  *metrics.Metrics

	hostKeys *sftp.HostKeys
	sftp     *sftp.Server
	certs    *certs.Reloader // nil when FTP runs without TLS
	ftp      *ftp.Server

	current atomic.Pointer[serverconfig.Config]
	ready   atomic.Bool
	// profiling serves /debug/pprof/ on the health listener (EnableProfiling).
	profiling bool

	// Reloads from the file and from the config Secret are applied one at a time.
	reloadMu sync.Mutex
	applied  []byte                              // the content in use; nil until WatchConfig says what it was
	refused  []byte                              // the content last refused, if nothing was applied since
	secret   atomic.Pointer[secretwatch.Watcher] // set by WatchConfigSecret

	mu        sync.Mutex
	listeners map[string]net.Listener // by name: sftp, ftp, ftps (implicit), health
}

// New builds a server from a validated configuration. Nothing listens until Run.
func New(cfg *serverconfig.Config, log *slog.Logger) (*Server, error) {
	s := &Server{
		log:       log,
		users:     auth.NewUsers(),
		defender:  auth.NewDefender(0, time.Minute),
		limiter:   auth.NewLimiter(0, 0),
		listeners: map[string]net.Listener{},
	}
	s.metrics = metrics.New(s.defender.Banned)
	s.sessions = auth.NewSessions(s.users, log, s.metrics)
	authenticator := &auth.Authenticator{Users: s.users, Defender: s.defender}
	if cfg.SFTP != nil {
		hostKeys, err := sftp.NewHostKeys(cfg.SFTP.HostKeyFiles)
		if err != nil {
			return nil, fmt.Errorf("sftp: %w", err)
		}
		s.hostKeys = hostKeys
		s.metrics.WatchHostKeys(hostKeys)
		s.sftp = &sftp.Server{
			Auth: authenticator, Limiter: s.limiter, Sessions: s.sessions, HostKeys: hostKeys,
			Metrics: s.metrics, Log: log,
		}
	}
	if cfg.FTP != nil {
		if cfg.FTP.TLS.CertFile != "" {
			reloader, err := certs.NewReloader(cfg.FTP.TLS.CertFile, cfg.FTP.TLS.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("ftp: %w", err)
			}
			reloader.Log = log
			s.certs = reloader
			// One certificate serves explicit FTPS and the implicit listener; "ftp" names it in the metrics.
			s.metrics.WatchCertificate("ftp", reloader)
		}
		s.ftp = &ftp.Server{
			Auth: authenticator, Limiter: s.limiter, Sessions: s.sessions, Certs: s.certs,
			Metrics: s.metrics, Log: log,
		}
	}
	if err := s.Apply(cfg); err != nil {
		return nil, err
	}
	s.metrics.ConfigLoaded()
	return s, nil
}

// SetBuild labels pier_build_info with the binary's version and VCS revision, which only its main package knows.
func (s *Server) SetBuild(version, revision string) { s.metrics.SetBuild(version, revision) }

// Apply switches a running server to cfg: users, limits, bans, timeouts and host keys. Listen addresses and
// enabling or disabling a protocol need a restart; such changes are logged and otherwise ignored. Open sessions
// that cfg restricts are closed (auth.Users.Check says which).
func (s *Server) Apply(cfg *serverconfig.Config) error {
	if err := s.users.Update(cfg); err != nil {
		return err
	}
	// New logins follow the new table from here on, whatever happens below; so do open sessions, at once.
	s.sessions.CloseRevoked()
	if prev := s.current.Load(); prev != nil {
		warnRestartNeeded(s.log, prev, cfg)
	}
	l := cfg.Limits
	s.defender.SetLimits(*l.MaxLoginFailures, l.BanDuration.Duration)
	s.limiter.SetLimits(l.MaxConnections, l.MaxConnectionsPerIP)
	if s.sftp != nil && cfg.SFTP != nil {
		// New loaded the first files; a reload reads them again only when the list changed (HostKeys itself
		// notices changed contents). Files that do not load yet do not refuse the config: the keys in use stay
		// in use until they do (see HostKeys.SetFiles), so users' changes in the same config still apply.
		if prev := s.current.Load(); prev != nil && (prev.SFTP == nil || !slices.Equal(prev.SFTP.HostKeyFiles, cfg.SFTP.HostKeyFiles)) {
			if err := s.hostKeys.SetFiles(cfg.SFTP.HostKeyFiles); err != nil {
				s.log.Warn("the new host key files do not load yet; the current host keys stay in use until they do",
					"error", err)
			}
		}
		s.sftp.SetSettings(sftp.Settings{
			StorageRoot:  cfg.Storage.Root,
			AuthMethods:  cfg.SFTP.AuthMethods,
			IdleTimeout:  l.IdleTimeout.Duration,
			LoginTimeout: l.LoginTimeout.Duration,
		})
	}
	if s.ftp != nil && cfg.FTP != nil {
		tls := cfg.FTP.TLS
		if prev := s.current.Load(); s.certs != nil && prev != nil && tls.CertFile != "" &&
			(prev.FTP == nil || prev.FTP.TLS.CertFile != tls.CertFile || prev.FTP.TLS.KeyFile != tls.KeyFile) {
			if err := s.certs.SetFiles(tls.CertFile, tls.KeyFile); err != nil {
				return fmt.Errorf("ftp certificate: %w", err)
			}
		}
		s.ftp.SetSettings(ftp.NewSettings(cfg))
	}
	s.current.Store(cfg)
	return nil
}

func warnRestartNeeded(log *slog.Logger, prev, next *serverconfig.Config) {
	if (prev.SFTP == nil) != (next.SFTP == nil) || (prev.FTP == nil) != (next.FTP == nil) {
		log.Warn("enabling or disabling a protocol takes effect only after a restart")
	}
	if prev.SFTP != nil && next.SFTP != nil && prev.SFTP.Address != next.SFTP.Address ||
		prev.FTP != nil && next.FTP != nil && (prev.FTP.Address != next.FTP.Address ||
			prev.FTP.ImplicitTLSAddress != next.FTP.ImplicitTLSAddress) ||
		prev.Health.Address != next.Health.Address {
		log.Warn("a changed listen address takes effect only after a restart")
	}
}

// Addr returns the bound address of the named listener (sftp, health), once Run has bound it.
func (s *Server) Addr(name string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ln, ok := s.listeners[name]; ok {
		return ln.Addr()
	}
	return nil
}

// Run binds every listener, serves until ctx is cancelled, then shuts down gracefully: it stops accepting, lets
// open sessions finish for the shutdown grace period and closes the rest. onReady, if not nil, is called once
// every listener is bound.
func (s *Server) Run(ctx context.Context, onReady func()) error {
	cfg := s.current.Load()
	if err := s.listen("health", cfg.Health.Address); err != nil {
		return err
	}
	binds := map[string]string{}
	if s.sftp != nil {
		binds["sftp"] = cfg.SFTP.Address
	}
	if s.ftp != nil {
		binds["ftp"] = cfg.FTP.Address
		if cfg.FTP.ImplicitTLSAddress != "" {
			binds["ftps"] = cfg.FTP.ImplicitTLSAddress
		}
	}
	for name, address := range binds {
		if err := s.listen(name, address); err != nil {
			s.closeListeners()
			return err
		}
	}

	errs := make(chan error, 4)
	var serving sync.WaitGroup
	serve := func(name string, run func(net.Listener) error) {
		serving.Add(1)
		go func() {
			defer serving.Done()
			if err := run(s.listener(name)); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	health := s.healthServer()
	serve("health", func(ln net.Listener) error {
		if err := health.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	if s.sftp != nil {
		serve("sftp", s.sftp.Serve)
	}
	if s.ftp != nil {
		serve("ftp", s.ftp.Serve)
		if _, ok := binds["ftps"]; ok {
			serve("ftps", s.ftp.ServeImplicitTLS)
		}
	}
	s.ready.Store(true)
	s.log.Info("serving", "users", s.users.Len(), "listeners", s.addrs())
	if onReady != nil {
		onReady()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
		s.log.Error("a listener failed; shutting down", "error", runErr)
	}
	s.shutdown(health)
	serving.Wait()
	return runErr
}

func (s *Server) shutdown(health *http.Server) {
	s.ready.Store(false)
	grace := s.current.Load().Limits.ShutdownGracePeriod.Duration
	s.log.Info("shutting down", "gracePeriod", grace)
	s.mu.Lock()
	for name, ln := range s.listeners {
		if name != "health" {
			_ = ln.Close() // stop accepting; Serve returns
		}
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var drained sync.WaitGroup
	if s.sftp != nil {
		drained.Go(func() { s.sftp.Shutdown(ctx) })
	}
	if s.ftp != nil {
		drained.Go(func() { s.ftp.Shutdown(ctx) })
	}
	drained.Wait()
	healthCtx, cancelHealth := context.WithTimeout(context.Background(), time.Second)
	defer cancelHealth()
	_ = health.Shutdown(healthCtx) // probes in flight get their answer or are cut; either is fine now
	s.log.Info("stopped")
}

func (s *Server) listen(name, address string) error {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("%s: listening on %s: %w", name, address, err)
	}
	s.mu.Lock()
	s.listeners[name] = ln
	s.mu.Unlock()
	return nil
}

func (s *Server) listener(name string) net.Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listeners[name]
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ln := range s.listeners {
		_ = ln.Close() // start-up failed; these were never served
	}
}

func (s *Server) addrs() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for name, ln := range s.listeners {
		out[name] = ln.Addr().String()
	}
	return out
}
