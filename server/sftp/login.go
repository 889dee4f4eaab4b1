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

package sftp

import (
	"errors"
	"net/netip"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/server/auth"
	"github.com/pier-dev/pier/server/config"
)

// errOtherUser refuses a second factor presented for another username than the first.
var errOtherUser = errors.New("the second factor must be for the same user")

// loginCheck holds one connection's authentication state: the SSH callbacks run one after another on the
// connection's goroutine, and the account they prove is read once the handshake has succeeded.
type loginCheck struct {
	server           *Server
	remote           netip.Addr
	account          *auth.Account
	method           string
	passwordAttempts int
}

// password checks a password. For a user who needs two factors and has not shown a key yet (firstFactor
// empty), a right password is a partial success that asks for a key next.
func (c *loginCheck) password(firstFactor string) func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
	return func(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
		c.passwordAttempts++
		if firstFactor != "" && meta.User() != firstFactor {
			return nil, errOtherUser
		}
		acct, err := c.server.Auth.Password(config.ProtocolSFTP, meta.User(), string(password), c.remote)
		if err != nil {
			return nil, err
		}
		if acct.RequireAllAuthMethods && firstFactor == "" {
			return nil, &ssh.PartialSuccessError{Next: ssh.ServerAuthCallbacks{PublicKeyCallback: c.publicKey(acct.Username)}}
		}
		c.account, c.method = acct, methodName("password", firstFactor)
		return nil, nil
	}
}

// publicKey checks a key, the mirror image of password. x/crypto/ssh verifies the client's signature after
// the callback returns; the account is used only once the whole handshake succeeded, which proves it.
func (c *loginCheck) publicKey(firstFactor string) func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
	return func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if firstFactor != "" && meta.User() != firstFactor {
			return nil, errOtherUser
		}
		acct, err := c.server.Auth.PublicKey(meta.User(), key, c.remote)
		if err != nil {
			return nil, err
		}
		if acct.RequireAllAuthMethods && firstFactor == "" {
			return nil, &ssh.PartialSuccessError{Next: ssh.ServerAuthCallbacks{PasswordCallback: c.password(acct.Username)}}
		}
		c.account, c.method = acct, methodName("publickey", firstFactor)
		return nil, nil
	}
}

// methodName labels a login for logs and metrics: "password", "publickey" or "publickey+password".
func methodName(last, firstFactor string) string {
	if firstFactor == "" {
		return last
	}
	if last == "password" {
		return "publickey+password"
	}
	return "password+publickey"
}
