/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package auth

import "sync"

// Sessions tracks logged-in sessions by username, so that a config reload can end the sessions of users who were
// removed or disabled: they must not keep working on a connection they opened before.
type Sessions struct {
	mu     sync.Mutex
	byUser map[string]map[*session]struct{}
}

type session struct{ close func() }

// NewSessions returns an empty registry.
func NewSessions() *Sessions {
	return &Sessions{byUser: map[string]map[*session]struct{}{}}
}

// Add registers a session of username; closeFn must end it (close its connection). The returned remove must be
// called when the session ends by itself.
func (s *Sessions) Add(username string, closeFn func()) (remove func()) {
	sess := &session{close: closeFn}
	s.mu.Lock()
	if s.byUser[username] == nil {
		s.byUser[username] = map[*session]struct{}{}
	}
	s.byUser[username][sess] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.byUser[username], sess)
		if len(s.byUser[username]) == 0 {
			delete(s.byUser, username)
		}
	}
}

// CloseRevoked ends every session whose user no longer exists in users or is disabled, and returns how many it
// ended. Changed passwords or keys do not end sessions: the session was opened with valid credentials.
func (s *Sessions) CloseRevoked(users *Users) int {
	var revoked []*session
	s.mu.Lock()
	for username, set := range s.byUser {
		if acct, ok := users.Lookup(username); ok && !acct.Disabled {
			continue
		}
		for sess := range set {
			revoked = append(revoked, sess)
		}
	}
	s.mu.Unlock()
	// Close outside the lock: closing a connection makes its session call remove, which takes the lock.
	for _, sess := range revoked {
		sess.close()
	}
	return len(revoked)
}

// Count is the number of open sessions.
func (s *Sessions) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, set := range s.byUser {
		n += len(set)
	}
	return n
}
