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

package portable

import (
	"crypto/x509/pkix"
	"net"
	"path/filepath"
	"time"

	"github.com/pier-dev/pier/internal/pki"
)

type certFiles struct{ caFile, certFile, keyFile string }

// Lifetimes of portable mode's certificates: the CA is renewed when it has less than caRenewBefore left, the
// server certificate when it has less than certRenewBefore left.
const (
	caRenewBefore   = 30 * 24 * time.Hour
	certRenewBefore = 7 * 24 * time.Hour
)

// ensureCertificates keeps a local CA (ca.crt) and a server certificate it signed (tls.crt, tls.key) for host,
// 127.0.0.1, ::1 and localhost. The CA is reused while it is valid, so a client that trusts it once keeps
// trusting the server; the server certificate is renewed when it has less than a week left.
func ensureCertificates(state, host string) (certFiles, error) {
	files := certFiles{
		caFile:   filepath.Join(state, pki.CACertFile),
		certFile: filepath.Join(state, "tls.crt"),
		keyFile:  filepath.Join(state, "tls.key"),
	}
	now := time.Now()
	// Five years, and no intermediate CAs below it: it signs this server's certificates only.
	caTemplate := pki.CATemplate(pkix.Name{CommonName: "pier portable local CA"}, now.Add(-time.Hour), now.AddDate(5, 0, 0))
	caTemplate.MaxPathLenZero = true
	ca, err := pki.OpenCA(state, caTemplate, caRenewBefore)
	if err != nil {
		return files, err
	}
	// A certificate of an earlier CA fails CheckSignatureFrom, so a renewed CA means a new server certificate too.
	if cert, err := pki.LoadPair(files.certFile, files.keyFile); err == nil &&
		time.Until(cert.Cert.NotAfter) > certRenewBefore && cert.Cert.CheckSignatureFrom(ca.Cert) == nil {
		return files, nil
	}
	names := []string{"localhost", "127.0.0.1", "::1"}
	if ip := net.ParseIP(host); (ip != nil && !ip.IsLoopback()) || (ip == nil && host != "localhost") {
		names = append(names, host)
	}
	cert, err := ca.Issue(pki.ServerTemplate(host, names, now.Add(-time.Hour), now.AddDate(0, 3, 0)))
	if err != nil {
		return files, err
	}
	return files, cert.WriteFiles(files.certFile, files.keyFile)
}
