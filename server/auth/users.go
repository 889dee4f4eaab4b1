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

// Package auth decides who may connect and log in: the user table (swapped atomically on config reload),
// password and public-key checks, source-address rules, connection limits and the failed-login defender.
package auth

import (
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
)

// Account is one user as the server enforces it: the config entry with its keys and networks parsed once.
// Accounts are immutable; a config reload builds new ones.
type Account struct {
	serverconfig.User
	passwordHash []byte
	keys         []ssh.PublicKey
	sourceRanges []netip.Prefix
}

// HasPassword reports whether the account can log in with a password at all.
func (a *Account) HasPassword() bool { return len(a.passwordHash) > 0 }

// allowsSource reports whether the account's own networks admit addr (an empty list admits all).
func (a *Account) allowsSource(addr netip.Addr) bool {
	return prefixesContain(a.sourceRanges, addr)
}

// hasKey reports whether key is one of the account's authorized keys.
func (a *Account) hasKey(key ssh.PublicKey) bool {
	want := key.Marshal()
	return slices.ContainsFunc(a.keys, func(k ssh.PublicKey) bool { return string(k.Marshal()) == string(want) })
}

// hasFingerprint reports whether the key with this SHA256 fingerprint is one of the account's authorized keys.
func (a *Account) hasFingerprint(fingerprint string) bool {
	return slices.ContainsFunc(a.keys, func(k ssh.PublicKey) bool { return ssh.FingerprintSHA256(k) == fingerprint })
}

// table is one generation of the user table and the server-wide rules that came with it.
type table struct {
	accounts     map[string]*Account
	sourceRanges []netip.Prefix
	// sftpAuthMethods are the SSH login methods the server offers; nil when the configuration has no SFTP
	// section, which does not stop a running SFTP listener (that needs a restart) and so restricts nothing.
	sftpAuthMethods []serverconfig.AuthMethod
	// ftpRequiresTLS: the explicit FTP listener is in Required mode.
	ftpRequiresTLS bool
}

// Users holds the current user table. Readers never block: a reload swaps the whole table at once, so a login
// sees either the old users or the new ones, never a mix.
type Users struct {
	current atomic.Pointer[table]
}

// NewUsers returns an empty table: nobody can log in until Update.
func NewUsers() *Users {
	u := &Users{}
	u.current.Store(&table{accounts: map[string]*Account{}})
	return u
}

// Update replaces the table with the users and server networks of cfg, which must have passed config validation.
// On error the previous table stays in place.
func (u *Users) Update(cfg *serverconfig.Config) error {
	next := &table{accounts: make(map[string]*Account, len(cfg.Users))}
	var err error
	if next.sourceRanges, err = parsePrefixes(cfg.AllowedSourceRanges); err != nil {
		return fmt.Errorf("allowedSourceRanges: %w", err)
	}
	if cfg.SFTP != nil {
		// Not nil even when empty: the SFTP front end then offers no method either.
		next.sftpAuthMethods = append([]serverconfig.AuthMethod{}, cfg.SFTP.AuthMethods...)
	}
	next.ftpRequiresTLS = cfg.FTP != nil && cfg.FTP.TLS.Mode == serverconfig.TLSRequired
	for i := range cfg.Users {
		acct, err := newAccount(cfg.Users[i])
		if err != nil {
			return fmt.Errorf("users[%d] (%s): %w", i, cfg.Users[i].Username, err)
		}
		if _, dup := next.accounts[acct.Username]; dup {
			return fmt.Errorf("users[%d]: username %q appears twice", i, acct.Username)
		}
		next.accounts[acct.Username] = acct
	}
	u.current.Store(next)
	return nil
}

// Lookup returns the named account from the current table.
func (u *Users) Lookup(username string) (*Account, bool) {
	a, ok := u.current.Load().accounts[username]
	return a, ok
}

// AllowsSource reports whether the server-wide networks admit addr.
func (u *Users) AllowsSource(addr netip.Addr) bool {
	return prefixesContain(u.current.Load().sourceRanges, addr)
}

// Len is the number of accounts, for metrics and logs.
func (u *Users) Len() int { return len(u.current.Load().accounts) }

func newAccount(user serverconfig.User) (*Account, error) {
	acct := &Account{User: user}
	if user.PasswordHash != "" {
		acct.passwordHash = []byte(user.PasswordHash)
	}
	for i, line := range user.AuthorizedKeys {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("authorizedKeys[%d]: %w", i, err)
		}
		acct.keys = append(acct.keys, key)
	}
	var err error
	if acct.sourceRanges, err = parsePrefixes(user.AllowedSourceRanges); err != nil {
		return nil, fmt.Errorf("allowedSourceRanges: %w", err)
	}
	return acct, nil
}

func parsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for i, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// prefixesContain reports whether addr lies in one of prefixes; an empty list admits every address.
func prefixesContain(prefixes []netip.Prefix, addr netip.Addr) bool {
	if len(prefixes) == 0 {
		return true
	}
	addr = addr.Unmap()
	return slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return p.Contains(addr) })
}
