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

package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/auth"
	"github.com/pier-dev/pier/server/session"
	"github.com/pier-dev/pier/server/vfs"
)

const (
	banner = "pier FTP server ready."
	// dataConnectTimeout is how long, once a transfer command arrived, the server waits for the client's passive
	// data connection or for its own active one (at most the idle timeout).
	dataConnectTimeout = 30 * time.Second
)

var (
	errTLSUnavailable      = errors.New("TLS is not available on this connection")
	errDataMustBeProtected = errors.New("data connections must be protected: send PROT P first")
)

// mainDriver is ftpserverlib's MainDriver for one connection (see the package documentation for why there is one
// per connection). ftpserverlib calls it from the connection's command loop, one call at a time.
type mainDriver struct {
	server   *Server
	conn     *connection
	ctrl     *controlConn
	settings Settings
	implicit bool
	dataTLS  *tls.Config // nil when data connections cannot use TLS
	listener *singleListener
	ports    *portGetter

	cc            ftpserver.ClientContext
	client        *clientDriver // set at login
	jail          *vfs.FS
	removeSession func()
	stopIdle      func()
	loginAt       time.Time
	lastPassive   net.Listener // the listener of the PASV being answered, closed if its reply fails
}

func newMainDriver(s *Server, conn *connection, ctrl *controlConn, settings Settings, implicit bool,
	dataTLS *tls.Config) *mainDriver {
	return &mainDriver{
		server: s, conn: conn, ctrl: ctrl, settings: settings, implicit: implicit, dataTLS: dataTLS,
		listener: newSingleListener(ctrl),
		ports:    newPortGetter(s.settings.Load),
	}
}

// GetSettings is asked once, when the session's ftpserverlib server starts.
func (d *mainDriver) GetSettings() (*ftpserver.Settings, error) {
	tlsMode := ftpserver.ClearOrEncrypted
	if d.implicit {
		// ftpserverlib then treats the control connection as protected and protects every data connection.
		tlsMode = ftpserver.ImplicitEncryption
	}
	return &ftpserver.Settings{
		Listener:                 d.listener,
		ListenAddr:               d.conn.raw.LocalAddr().String(), // shown by STAT
		Banner:                   banner,
		PassiveTransferPortRange: d.ports,
		PublicIPResolver:         d.publicIP,
		IdleTimeout:              seconds(d.settings.IdleTimeout),
		ConnectionTimeout:        seconds(min(dataConnectTimeout, d.settings.IdleTimeout)),
		// pier-server runs unprivileged and cannot bind port 20 (RFC 1579 allows any source port).
		ActiveTransferPortNon20: true,
		DisableActiveMode:       !d.settings.ActiveMode,
		TLSRequired:             tlsMode,
		// Binary by default and never rewriting line endings: files arrive byte for byte even from clients that
		// do not send TYPE I, like vsftpd's default; SIZE and REST then always agree with the file on disk.
		DefaultTransferType:    ftpserver.TransferTypeBinary,
		DisableASCIIConversion: true,
		ActiveConnectionsCheck: ftpserver.IPMatchRequired,
		PasvConnectionsCheck:   ftpserver.IPMatchRequired,
	}, nil
}

func seconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }

// ClientConnected greets the client. Admission and limits were checked before ftpserverlib saw the connection.
func (d *mainDriver) ClientConnected(cc ftpserver.ClientContext) (msg string, err error) {
	defer d.recoverCallback("ClientConnected", &err)
	d.cc = cc
	return banner, nil
}

// ClientDisconnected is called once the command loop ends, logged in or not. It closes everything left of the
// session (a pending passive listener, data connections) so ftpserverlib's clean-up does not wait on them, and
// ends Serve.
func (d *mainDriver) ClientDisconnected(ftpserver.ClientContext) {
	defer func() { _ = d.listener.Close() }() // ends Serve even after a panic below; never fails
	var err error
	defer d.recoverCallback("ClientDisconnected", &err)
	if d.stopIdle != nil {
		d.stopIdle()
	}
	d.conn.closeAll()
}

// finish runs after Serve returned: once the files still open are closed, the session is over.
func (d *mainDriver) finish() {
	d.conn.transfers.Wait()
	if d.removeSession != nil {
		d.removeSession()
	}
	if d.jail != nil {
		_ = d.jail.Close() // releases the directory handle; nothing was written through it
		d.conn.log.Info("logged out", "username", d.client.sess.Username, "duration", time.Since(d.loginAt).Round(time.Millisecond))
	}
}

// AuthUser checks a password login (PASS) and opens the user's jail. ftpserverlib closes the connection after a
// failed attempt, so each connection gets one guess; the authenticator counts it towards a ban.
func (d *mainDriver) AuthUser(cc ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	if d.client != nil { // the filter refuses a second USER; be safe anyway
		return nil, errors.New("already logged in")
	}
	log := d.conn.log
	account, err := d.server.Auth.Password(serverconfig.ProtocolFTP, user, pass, d.conn.remote.Addr())
	if err != nil {
		d.server.Metrics.Login(protocol, "password", "failure")
		log.Info("login failed", "username", user, "method", "password", "reason", err.Error())
		return nil, err
	}
	jail, err := session.OpenJail(d.settings.StorageRoot, account)
	if err != nil {
		log.Error("opening the user's jail", "username", account.Username, "error", err)
		return nil, err
	}
	if d.ctrl.policy.requireTLS {
		// ftpserverlib then also refuses to open a clear data connection, behind the filter's own check.
		_ = cc.SetTLSRequirement(ftpserver.MandatoryEncryption) // fails only for an invalid constant
	}
	d.jail, d.loginAt = jail, time.Now()
	sess := &session.Session{
		Protocol: protocol, Username: account.Username, Remote: d.conn.remote,
		Log: d.server.Log, Metrics: d.server.Metrics,
	}
	d.client = &clientDriver{fs: jail, sess: sess, conn: d.conn, cwd: cc.Path, log: log.With("username", account.Username)}
	login := auth.PasswordLogin(account, serverconfig.ProtocolFTP, d.conn.remote)
	login.TLSEnforced = d.implicit || d.ctrl.policy.requireTLS
	remove, err := d.server.Sessions.Add(login, d.conn.closeAll)
	if err != nil { // a reload restricted the user since the password check; Add logged why
		d.conn.closeAll()
		return nil, err
	}
	d.removeSession = remove
	if d.conn.tlsID != 0 {
		d.server.tickets.loggedIn(d.conn.tlsID, account.Username)
	}
	d.conn.loggedIn.Store(true)
	d.stopIdle = d.conn.watchIdle(d.settings.IdleTimeout)
	d.server.Metrics.Login(protocol, "password", "success")
	log.Info("logged in", "username", account.Username, "method", "password", "tls", cc.HasTLSForControl() || d.ctrl.tlsActive())
	return d.client, nil
}

// PostAuthMessage tells a client whose login failed only that it failed, whatever the reason (unknown user,
// wrong password, banned, disabled), so that it cannot probe which usernames exist; the log has the reason.
func (d *mainDriver) PostAuthMessage(_ ftpserver.ClientContext, _ string, authErr error) string {
	if authErr != nil {
		return "Login incorrect."
	}
	return "Logged in."
}

// GetTLSConfig is the configuration of data connections (and tells FEAT whether to offer AUTH TLS). The
// control connection's TLS is handled by the filter.
func (d *mainDriver) GetTLSConfig() (*tls.Config, error) {
	if d.dataTLS == nil {
		return nil, errTLSUnavailable
	}
	return d.dataTLS, nil
}

// WrapPassiveListener accepts data connections only from the control connection's address and gives them the
// idle timeout. ftpserverlib would accept the first connection from anyone and then fail the transfer if it
// came from elsewhere, so whoever reaches the port first could break a client's transfer; here such a
// connection is dropped and the listener keeps waiting for the real client.
func (d *mainDriver) WrapPassiveListener(ln net.Listener) (wrapped net.Listener, err error) {
	defer d.recoverCallback("WrapPassiveListener", &err)
	if d.ctrl.policy.requireTLS && (d.cc == nil || !d.cc.HasTLSForTransfers()) {
		// The filter refuses PASV before PROT P already; ftpserverlib does not close the listener on error.
		_ = ln.Close()
		return nil, errDataMustBeProtected
	}
	pl := &passiveListener{Listener: ln, conn: d.conn, controlIP: d.conn.remote.Addr(), idle: d.settings.IdleTimeout}
	d.conn.track(pl)
	d.lastPassive = pl
	return pl, nil
}

// recoverCallback turns a panic in a callback ftpserverlib makes outside its own recovery into an error.
func (d *mainDriver) recoverCallback(name string, err *error) {
	if r := recover(); r != nil {
		d.conn.log.Error("panic in "+name+"; connection closed", "panic", r, "stack", string(debug.Stack()))
		d.conn.closeAll()
		*err = fmt.Errorf("internal error in %s", name)
	}
}

// quietHandler passes ftpserverlib's log records on one level lower: it logs ordinary client behaviour (an
// unknown command, a dropped connection) as warnings and errors, which would drown the server's own.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.Handler.Enabled(ctx, level-4)
}

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Level -= 4
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(attrs)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}
