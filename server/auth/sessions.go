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

package auth

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/pier-dev/pier/server/metrics"
)

// ErrRevoked refuses to register a session whose login the configuration revoked between the login check and
// the registration (a reload in between). The session must end.
var ErrRevoked = errors.New("access revoked by a configuration change")

// Sessions tracks logged-in sessions, so that a configuration change that restricts a user reaches the sessions
// that user already has open: each applied configuration ends every session it would not let in again with the
// same rights (see Users.Check). Connections opened before the change must not keep working with what was taken
// away.
type Sessions struct {
	users   *Users
	log     *slog.Logger
	metrics *metrics.Metrics

	mu   sync.Mutex
	open map[*session]struct{}
}

type session struct {
	login *Login
	close func()
}

// NewSessions returns an empty registry that checks sessions against users. log gets one line per session a
// configuration change ends; m (which may be nil) counts them.
func NewSessions(users *Users, log *slog.Logger, m *metrics.Metrics) *Sessions {
	if log == nil {
		log = slog.Default()
	}
	return &Sessions{users: users, log: log, metrics: m, open: map[*session]struct{}{}}
}

// Add registers the session that logged in as login; closeFn must end it (close its connection). The returned
// remove must be called when the session ends by itself.
//
// Add checks login against the current configuration first and returns ErrRevoked, registering nothing, if a
// reload since the login check restricted it: CloseRevoked ran before the session was registered and could not
// end it. The check and the registration happen under the lock CloseRevoked takes after the new user table is
// in place, so every session is checked against every configuration applied after its login.
func (s *Sessions) Add(login *Login, closeFn func()) (remove func(), err error) {
	sess := &session{login: login, close: closeFn}
	s.mu.Lock()
	revocation := s.users.Check(login)
	if revocation == nil {
		s.open[sess] = struct{}{}
	}
	s.mu.Unlock()
	if revocation != nil {
		s.ended(login, revocation)
		return nil, ErrRevoked
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.open, sess)
	}, nil
}

// CloseRevoked ends every session the current configuration revokes (see Users.Check), logging each one with
// its reason, and returns how many it ended. Call it after every change of the user table.
func (s *Sessions) CloseRevoked() int {
	type revoked struct {
		sess *session
		why  *Revocation
	}
	var ended []revoked
	s.mu.Lock()
	for sess := range s.open {
		if why := s.users.Check(sess.login); why != nil {
			ended = append(ended, revoked{sess, why})
			delete(s.open, sess) // so a concurrent reload does not end it twice
		}
	}
	s.mu.Unlock()
	// Close outside the lock: closing a connection makes its session call remove, which takes the lock.
	for _, r := range ended {
		s.ended(r.sess.login, r.why)
		r.sess.close()
	}
	return len(ended)
}

// ended logs and counts one session ended by a configuration change.
func (s *Sessions) ended(login *Login, why *Revocation) {
	s.metrics.SessionRevoked(string(login.Protocol), string(why.Reason))
	attrs := []slog.Attr{
		slog.String("username", login.Account.Username),
		slog.String("protocol", string(login.Protocol)),
		slog.String("remote", login.Remote.String()),
		slog.String("method", login.Methods()),
		slog.String("reason", string(why.Reason)),
	}
	if why.Detail != "" {
		attrs = append(attrs, slog.String("detail", why.Detail))
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "session ended: the new configuration revokes its access", attrs...)
}

// Count is the number of open sessions.
func (s *Sessions) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}
