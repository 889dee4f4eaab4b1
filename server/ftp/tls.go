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

package ftp

import (
	"crypto/rand"
	"crypto/tls"
	"errors"

	"github.com/pier-dev/pier/server/config"
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

// errSessionNotReused fails a data connection's TLS handshake that did not resume the control connection's
// session. ftpserverlib passes the handshake error to the client in its transfer reply.
var errSessionNotReused = errors.New("the data connection must resume the TLS session of the control connection " +
	"(enable TLS session reuse in the client)")

// connectionTLS returns the TLS configurations of one connection: for its control connection and for its data
// connections, or nil for both when it offers no TLS.
//
// Session reuse (vsftpd's require_ssl_reuse) is enforced in two steps. Each connection encrypts its session
// tickets with a random key of its own, so a ticket the client got on this control connection can be resumed
// on its data connections and on nothing else: a ticket from another connection, or one an attacker obtained
// elsewhere, cannot be decrypted and falls back to a full handshake. The data configuration then refuses any
// handshake that did not resume (crypto/tls calls VerifyConnection for full and resumed handshakes, TLS 1.2 and
// 1.3 alike), so only the client that holds the control connection's session can use a passive port, even if
// someone else connects to it first from the same address.
func (s *Server) connectionTLS(settings Settings, implicit bool) (control, data *tls.Config) {
	if s.Certs == nil || (!implicit && settings.TLSMode == config.TLSDisabled) {
		return nil, nil
	}
	var ticketKey [32]byte
	_, _ = rand.Read(ticketKey[:]) // crypto/rand.Read never fails (it aborts the program instead)
	control = &tls.Config{
		MinVersion:     minTLSVersion(settings.MinTLSVersion),
		CipherSuites:   tls12CipherSuites,
		GetCertificate: s.Certs.GetCertificate,
	}
	control.SetSessionTicketKeys([][32]byte{ticketKey})
	data = control.Clone() // Clone keeps the ticket key
	if settings.RequireSessionReuse {
		data.VerifyConnection = func(state tls.ConnectionState) error {
			if !state.DidResume {
				return errSessionNotReused
			}
			return nil
		}
	}
	return control, data
}

func minTLSVersion(v config.TLSVersion) uint16 {
	if v == config.TLSVersion13 {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}
