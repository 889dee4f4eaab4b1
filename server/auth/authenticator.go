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
	"errors"
	"net/netip"
	"sync"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// Login refusals. Front ends tell the client only "authentication failed" for every one of them, so that a
// client cannot learn which usernames exist; the precise reason goes to the server log.
var (
	ErrInvalidCredentials = errors.New("invalid username, password or key")
	ErrBanned             = errors.New("address banned after too many failed logins")
	ErrSourceNotAllowed   = errors.New("source address not allowed")
	ErrProtocolNotAllowed = errors.New("user may not log in with this protocol")
	ErrDisabled           = errors.New("user is disabled")
)

// Authenticator checks logins against the current user table and the defender.
type Authenticator struct {
	Users    *Users
	Defender *Defender

	// verified spares the bcrypt comparison for a password that matched moments ago (verified.go).
	verified verifiedPasswords
}

// Admit checks whether a connection from remote may proceed to login at all: not banned and inside the
// server's allowed networks.
func (a *Authenticator) Admit(remote netip.Addr) error {
	if a.Defender.IsBanned(remote) {
		return ErrBanned
	}
	if !a.Users.AllowsSource(remote) {
		return ErrSourceNotAllowed
	}
	return nil
}

// Password checks a password login. A wrong password or an unknown user counts as a failure towards a ban.
// Unknown users and users without a password cost the same bcrypt comparison as real ones, so response time
// does not tell which usernames exist.
func (a *Authenticator) Password(protocol serverconfig.Protocol, username, password string, remote netip.Addr) (*Account, error) {
	if err := a.Admit(remote); err != nil {
		return nil, err
	}
	acct, ok := a.Users.Lookup(username)
	if ok && acct.HasPassword() && a.verified.matches(username, acct.passwordHash, password) {
		return a.accept(acct, protocol, remote)
	}
	hash := dummyHash()
	if ok && acct.HasPassword() {
		hash = acct.passwordHash
	}
	match := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if !ok || !acct.HasPassword() || !match {
		a.Defender.RecordFailure(remote)
		return nil, ErrInvalidCredentials
	}
	a.verified.remember(username, acct.passwordHash, password)
	return a.accept(acct, protocol, remote)
}

// PublicKey checks that key is one of the user's authorized keys. It does not count failures: SSH clients offer
// each key they hold in turn, so a rejected key is not a guess. Front ends call RecordFailure once for a
// connection that ends without logging in.
func (a *Authenticator) PublicKey(username string, key ssh.PublicKey, remote netip.Addr) (*Account, error) {
	if err := a.Admit(remote); err != nil {
		return nil, err
	}
	acct, ok := a.Users.Lookup(username)
	if !ok || !acct.hasKey(key) {
		return nil, ErrInvalidCredentials
	}
	return a.accept(acct, serverconfig.ProtocolSFTP, remote)
}

// RecordFailure counts one failed login from remote towards a ban.
func (a *Authenticator) RecordFailure(remote netip.Addr) { a.Defender.RecordFailure(remote) }

// accept applies the account's own rules once its credentials are proven.
func (a *Authenticator) accept(acct *Account, protocol serverconfig.Protocol, remote netip.Addr) (*Account, error) {
	switch {
	case acct.Disabled:
		return nil, ErrDisabled
	case !acct.AllowsProtocol(protocol),
		acct.RequireAllAuthMethods && protocol == serverconfig.ProtocolFTP:
		return nil, ErrProtocolNotAllowed
	case !acct.allowsSource(remote):
		return nil, ErrSourceNotAllowed
	}
	a.Defender.RecordSuccess(remote)
	return acct, nil
}

// dummyHash is compared against when there is no real hash. It is hashed as the operator and portable mode hash
// passwords (credentials.Hash), so that it costs as much as a real user's.
var dummyHash = sync.OnceValue(func() []byte {
	h, err := credentials.Hash([]byte("pier: no such user"))
	if err != nil {
		panic("bcrypt failed to hash a constant: " + err.Error())
	}
	return []byte(h)
})
