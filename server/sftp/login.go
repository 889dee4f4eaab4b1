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

package sftp

import (
	"errors"
	"net/netip"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/auth"
)

// errOtherUser refuses a second factor presented for another username than the first.
var errOtherUser = errors.New("the second factor must be for the same user")

// loginKey is the key of the *auth.Login in the ssh.Permissions of a successful authentication.
type loginKey struct{}

// loginCheck holds one connection's authentication state. The SSH callbacks run one after another on the
// connection's goroutine.
//
// The login a callback accepts travels in the ssh.Permissions it returns: x/crypto/ssh hands the connection the
// Permissions of the request that completed authentication, so the key recorded is the one whose signature was
// verified, not merely the last one the client asked about.
type loginCheck struct {
	server           *Server
	remote           netip.AddrPort
	passwordAttempts int
}

// password checks a password. For a user who needs two factors and has not shown a key yet (first nil), a
// right password is a partial success that asks for a key next.
func (c *loginCheck) password(first *auth.Login) func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
	return func(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
		c.passwordAttempts++
		if first != nil && meta.User() != first.Account.Username {
			return nil, errOtherUser
		}
		acct, err := c.server.Auth.Password(serverconfig.ProtocolSFTP, meta.User(), string(password), c.remote.Addr())
		if err != nil {
			return nil, err
		}
		login := auth.PasswordLogin(acct, serverconfig.ProtocolSFTP, c.remote)
		if acct.RequireAllAuthMethods && first == nil {
			return nil, &ssh.PartialSuccessError{Next: ssh.ServerAuthCallbacks{PublicKeyCallback: c.publicKey(login)}}
		}
		if first != nil {
			login.KeyFingerprint = first.KeyFingerprint
		}
		return loginPermissions(login, methodName("password", first)), nil
	}
}

// publicKey checks a key, the mirror image of password. x/crypto/ssh verifies the client's signature after
// the callback returns, and completes the login with these Permissions only once it has.
func (c *loginCheck) publicKey(first *auth.Login) func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
	return func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if first != nil && meta.User() != first.Account.Username {
			return nil, errOtherUser
		}
		acct, err := c.server.Auth.PublicKey(meta.User(), key, c.remote.Addr())
		if err != nil {
			return nil, err
		}
		login := auth.KeyLogin(acct, key, c.remote)
		if acct.RequireAllAuthMethods && first == nil {
			return nil, &ssh.PartialSuccessError{Next: ssh.ServerAuthCallbacks{PasswordCallback: c.password(login)}}
		}
		if first != nil {
			// The password was checked against the account of the first step; that is the hash to compare.
			login.PasswordHash = first.PasswordHash
		}
		return loginPermissions(login, methodName("publickey", first)), nil
	}
}

// loginPermissions carries an accepted login and its method label to the connection.
func loginPermissions(login *auth.Login, method string) *ssh.Permissions {
	return &ssh.Permissions{ExtraData: map[any]any{loginKey{}: login, methodKey{}: method}}
}

// methodKey is the key of the method label in the ssh.Permissions of a successful authentication.
type methodKey struct{}

// acceptedLogin returns the login and method label that completed authentication on conn.
func acceptedLogin(conn *ssh.ServerConn) (*auth.Login, string, bool) {
	if conn.Permissions == nil {
		return nil, "", false
	}
	login, ok := conn.Permissions.ExtraData[loginKey{}].(*auth.Login)
	method, _ := conn.Permissions.ExtraData[methodKey{}].(string)
	return login, method, ok
}

// methodName labels a login for logs and metrics: "password", "publickey", "publickey+password" (key first) or
// "password+publickey".
func methodName(last string, first *auth.Login) string {
	switch {
	case first == nil:
		return last
	case last == "password":
		return "publickey+password"
	default:
		return "password+publickey"
	}
}
