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
	"log/slog"
	"time"

	"github.com/pier-dev/pier/internal/serverconfig"
)

// tls12CipherSuites are the TLS 1.2 suites offered: ECDHE key exchange with AEAD ciphers only, so every session
// has forward secrecy and no CBC or RC4 suite can be negotiated. TLS 1.3 suites are all AEAD and not
// configurable in Go.
var tls12CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// errSessionNotReused fails a data connection's TLS handshake that did not resume a TLS session of its login.
// ftpserverlib passes the handshake error to the client in its transfer reply.
var errSessionNotReused = errors.New("the data connection must resume a TLS session of this login " +
	"(enable TLS session reuse in the client)")

// Log messages about resuming sessions on data connections.
const (
	logNotResumed   = "TLS session not resumed on a data connection"
	logWaitForLogin = "data connection waits for the login of the connection its TLS session was issued to"
)

// connectionTLS returns the TLS configurations of one connection, for its control connection and for its data
// connections, and a function to call once the connection closed; nil configurations when it offers no TLS.
//
// # Session reuse
//
// requireSessionReuse (vsftpd's require_ssl_reuse) proves that a data connection comes from the TLS client
// that logged in: only a client holding the secret of a TLS session the server issued can resume it (the
// TLS 1.2 Finished messages and the TLS 1.3 PSK binder are keyed with it; a stolen ticket alone is useless).
//
// Binding that session to one control connection is too narrow for real clients. Go clients (rclone and
// many others) keep one session cache per host for all their connections, so with concurrent connections a
// data connection presents whichever sibling control connection's ticket was stored last. The rule is:
//
//	A data connection may resume a TLS session the server issued to a control connection (or to a data
//	connection of one) that is logged in as the same user, from the same client address, as the control
//	connection the data connection belongs to. Any other handshake is refused.
//
// How: every ticket carries, in SessionState.Extra, the id of the control connection it was issued to
// (tickets are issued at the handshake, before USER and PASS, so the login is looked up when the ticket comes
// back, in ticketIssuers). Tickets are encrypted and authenticated with keys of the whole server (rotated by
// crypto/tls), so the id cannot be forged. A ticket whose control connection has not logged in yet waits for
// that login (a client opening a sibling connection stores its ticket before logging in), at most the login
// timeout. Sessions of a connection that closed without logging in are forgotten at once; those of a login
// stay resumable while the login has an open connection and loginLinger after its last one closed.
//
// Why it is still safe: a client with no session, or with a ticket the server cannot decrypt, gets a full
// handshake and is refused. A client holding a session of another user (even from the same address, behind
// the same NAT) is refused, as is one whose session came from a connection that never logged in. A client from
// another address is dropped by the passive listener before TLS, and its sessions belong to another login
// anyway. What is accepted is a client that proved it can log in as this very user from this very address:
// it could open its own session for the same transfer, so taking over a passive port of the same login gives
// it nothing it did not have. Control connections never resume (every one does a full handshake with fresh
// ECDHE keys for the password it carries), so the login a session belongs to is always the one made on the
// connection it was issued to. TLS 1.2 and 1.3, explicit and implicit FTPS follow the same rule.
func (s *Server) connectionTLS(conn *connection, settings Settings, implicit bool) (control, data *tls.Config,
	done func()) {
	if s.Certs == nil || (!implicit && settings.TLSMode == serverconfig.TLSDisabled) {
		return nil, nil, func() {}
	}
	id := s.tickets.open(conn.remote.Addr())
	conn.tlsID = id
	wrap := func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		withIssuer(ss, id)
		return s.tickets.keys.EncryptTicket(cs, ss)
	}
	control = &tls.Config{
		MinVersion:     minTLSVersion(settings.MinTLSVersion),
		CipherSuites:   tls12CipherSuites,
		GetCertificate: s.Certs.GetCertificate,
		WrapSession:    wrap,
		UnwrapSession: func([]byte, tls.ConnectionState) (*tls.SessionState, error) {
			return nil, nil // a full handshake
		},
	}
	data = control.Clone()
	data.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		return s.unwrapDataSession(conn, settings, identity, cs)
	}
	if settings.RequireSessionReuse {
		data.VerifyConnection = func(state tls.ConnectionState) error {
			if !state.DidResume {
				return errSessionNotReused
			}
			return nil
		}
	}
	return control, data, func() { s.tickets.closed(id) }
}

// unwrapDataSession decides whether a data connection of conn resumes the session in a ticket (see
// connectionTLS); returning no session makes a full handshake, which VerifyConnection then refuses if session
// reuse is required.
func (s *Server) unwrapDataSession(conn *connection, settings Settings, identity []byte,
	cs tls.ConnectionState) (*tls.SessionState, error) {
	ss, err := s.tickets.keys.DecryptTicket(identity, cs)
	if err != nil || ss == nil {
		return nil, err // nil, nil: not a ticket of this server (or its key expired)
	}
	issuer, ok := issuerOf(ss)
	if !ok {
		conn.log.Warn(logNotResumed, "reason", "the ticket names no connection")
		return nil, nil
	}
	var wait time.Duration
	if settings.RequireSessionReuse {
		wait = settings.LoginTimeout // without the requirement a full handshake does as well
	}
	err = s.tickets.resumable(issuer, conn.tlsID, wait, func() {
		conn.log.Debug(logWaitForLogin)
	})
	if err != nil {
		level := slog.LevelDebug
		if settings.RequireSessionReuse {
			level = slog.LevelWarn
		}
		conn.log.Log(context.Background(), level, logNotResumed, "reason", err.Error())
		return nil, nil
	}
	return ss, nil
}

func minTLSVersion(v serverconfig.TLSVersion) uint16 {
	if v == serverconfig.TLSVersion13 {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}
