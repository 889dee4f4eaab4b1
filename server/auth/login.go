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
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
)

// Login is how one open session logged in: who, over what, from where, with which credentials, and the account
// settings its jail was opened with. Every configuration reload checks each open session's Login against the new
// configuration (see Check). It holds a password hash and a key fingerprint, never a password.
type Login struct {
	// Account is the account as it was at login. It is immutable; its permissions and home directory are the
	// ones the session works with until it ends.
	Account  *Account
	Protocol serverconfig.Protocol
	Remote   netip.AddrPort
	// PasswordHash is the hash the session's password was checked against; empty when it used no password.
	PasswordHash string
	// KeyFingerprint is the SHA256 fingerprint of the public key the session proved; empty when it used none.
	KeyFingerprint string
	// TLSEnforced is true for an FTP session whose connection refuses clear control and data connections
	// (implicit FTPS, or explicit FTPS in Required mode); it means nothing for SFTP.
	TLSEnforced bool
}

// PasswordLogin is the Login of a session that proved the password of acct.
func PasswordLogin(acct *Account, protocol serverconfig.Protocol, remote netip.AddrPort) *Login {
	return &Login{Account: acct, Protocol: protocol, Remote: remote, PasswordHash: acct.PasswordHash}
}

// KeyLogin is the Login of an SFTP session that proved key, one of acct's authorized keys.
func KeyLogin(acct *Account, key ssh.PublicKey, remote netip.AddrPort) *Login {
	return &Login{Account: acct, Protocol: serverconfig.ProtocolSFTP, Remote: remote, KeyFingerprint: ssh.FingerprintSHA256(key)}
}

// Methods names the credentials the session used, for logs: "password", "publickey" or "password+publickey".
func (l *Login) Methods() string {
	var m []string
	if l.PasswordHash != "" {
		m = append(m, string(serverconfig.AuthMethodPassword))
	}
	if l.KeyFingerprint != "" {
		m = append(m, string(serverconfig.AuthMethodPublicKey))
	}
	return strings.Join(m, "+")
}

// twoFactor reports whether the session proved both a password and a key.
func (l *Login) twoFactor() bool { return l.PasswordHash != "" && l.KeyFingerprint != "" }

// Reason says why a configuration change ends an open session. The values are metric labels.
type Reason string

// The reasons, in the order Check tests them.
const (
	ReasonUserRemoved          Reason = "user_removed"
	ReasonUserDisabled         Reason = "user_disabled"
	ReasonProtocol             Reason = "protocol_not_allowed"
	ReasonSource               Reason = "source_not_allowed"
	ReasonTwoFactor            Reason = "two_factors_required"
	ReasonPasswordChanged      Reason = "password_changed"
	ReasonKeyRemoved           Reason = "key_removed"
	ReasonAuthMethodNotOffered Reason = "auth_method_not_offered"
	ReasonTLSRequired          Reason = "tls_required"
	ReasonHomeChanged          Reason = "home_changed"
	ReasonPermissionsReduced   Reason = "permissions_reduced"
)

// Revocation is a reason to end a session and the detail a log line needs.
type Revocation struct {
	Reason Reason
	Detail string
}

// Check decides whether the session that logged in as l may continue under the current configuration, and
// returns nil if it may. See check.
func (u *Users) Check(l *Login) *Revocation {
	return u.current.Load().check(l)
}

// check decides whether the session that logged in as l may continue under the rules of t. The rule: a session
// continues only if the same client, logging in again now with the same credentials, would be let in, and would
// get at least every right the session has. So it ends when the user is gone or disabled, may no longer use the
// protocol or come from the session's address, now needs two factors where the session showed one, no longer
// accepts the session's password (its hash changed or was removed) or key (its fingerprint is no longer
// authorized), when the server stopped offering the SFTP method or started requiring the FTP TLS the session
// logged in without, when the home directory moved, or when any permission the session has was taken away.
//
// Changes that give more (a new key, a new password for a session that used a key, more permissions) leave it
// alone: everything the session can do is still allowed, and ending it would break transfers for a change that
// takes nothing away. The session keeps the rights it logged in with; added permissions reach the user at the
// next login.
func (t *table) check(l *Login) *Revocation {
	cur, ok := t.accounts[l.Account.Username]
	if !ok {
		return &Revocation{Reason: ReasonUserRemoved}
	}
	remote := l.Remote.Addr()
	switch {
	case cur.Disabled:
		return &Revocation{Reason: ReasonUserDisabled}
	case !cur.AllowsProtocol(l.Protocol):
		return &Revocation{Reason: ReasonProtocol, Detail: fmt.Sprintf("the user may no longer use %s", l.Protocol)}
	case !prefixesContain(t.sourceRanges, remote):
		return &Revocation{Reason: ReasonSource, Detail: "the server's allowedSourceRanges no longer admit the client"}
	case !cur.allowsSource(remote):
		return &Revocation{Reason: ReasonSource, Detail: "the user's allowedSourceRanges no longer admit the client"}
	case cur.RequireAllAuthMethods && !l.twoFactor():
		return &Revocation{Reason: ReasonTwoFactor, Detail: "the user now needs both a key and the password"}
	case l.PasswordHash != "" && l.PasswordHash != cur.PasswordHash:
		detail := "the password was replaced"
		if !cur.HasPassword() {
			detail = "the password was removed"
		}
		return &Revocation{Reason: ReasonPasswordChanged, Detail: detail}
	case l.KeyFingerprint != "" && !cur.hasFingerprint(l.KeyFingerprint):
		return &Revocation{Reason: ReasonKeyRemoved, Detail: "key " + l.KeyFingerprint + " is no longer authorized"}
	}
	if r := t.checkServerMethods(l); r != nil {
		return r
	}
	if was, now := path.Clean(l.Account.HomeDir()), path.Clean(cur.HomeDir()); was != now {
		return &Revocation{Reason: ReasonHomeChanged, Detail: fmt.Sprintf("home directory %s is now %s", was, now)}
	}
	var lost []string
	for _, p := range l.Account.GrantedPermissions() {
		if !cur.HasPermission(p) {
			lost = append(lost, string(p))
		}
	}
	if len(lost) > 0 {
		return &Revocation{Reason: ReasonPermissionsReduced, Detail: "lost " + strings.Join(lost, ", ")}
	}
	return nil
}

// checkServerMethods applies the server-wide login rules of each protocol. A two-factor SFTP login can start
// with either method and is always offered the other as its second step, so only a single-factor session
// depends on the methods the server offers.
func (t *table) checkServerMethods(l *Login) *Revocation {
	switch l.Protocol {
	case serverconfig.ProtocolSFTP:
		method := serverconfig.AuthMethod(l.Methods())
		if t.sftpAuthMethods != nil && !l.twoFactor() && !slices.Contains(t.sftpAuthMethods, method) {
			return &Revocation{Reason: ReasonAuthMethodNotOffered, Detail: fmt.Sprintf("the server no longer offers %s logins", method)}
		}
	case serverconfig.ProtocolFTP:
		if t.ftpRequiresTLS && !l.TLSEnforced {
			return &Revocation{Reason: ReasonTLSRequired, Detail: "the server now requires TLS on control and data connections"}
		}
	}
	return nil
}
