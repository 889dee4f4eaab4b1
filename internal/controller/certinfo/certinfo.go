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

// Package certinfo checks the kubernetes.io/tls Secret an endpoint serves FTPS with, so that a missing, mismatched
// or expired certificate shows in the endpoint's status, with the dates, before clients run into it.
package certinfo

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// The data keys of a kubernetes.io/tls Secret.
const (
	certKey = "tls.crt"
	keyKey  = "tls.key"
)

// ErrExpired and ErrNotYetValid are wrapped by Inspect's error when the certificate is outside its validity
// period, so that a caller can tell a certificate that needs renewing from a broken Secret.
var (
	ErrExpired     = errors.New("certificate has expired")
	ErrNotYetValid = errors.New("certificate is not valid yet")
)

// Info describes the certificate a Secret holds: its leaf, the first certificate of tls.crt.
type Info struct {
	NotBefore time.Time
	NotAfter  time.Time
	// DNSNames are the host names the certificate is valid for (its subject alternative names).
	DNSNames []string
	// Issuer is the issuer's distinguished name, such as "CN=R11,O=Let's Encrypt,C=US".
	Issuer string
}

// Inspect checks a kubernetes.io/tls Secret's data: tls.crt and tls.key must be present and form a certificate
// and key pair, and the leaf certificate must be valid at now. When the only problem is the validity period, the
// error wraps ErrExpired or ErrNotYetValid and Info still describes the certificate, so that status can show its
// dates; for any other error Info is empty.
func Inspect(data map[string][]byte, now time.Time) (Info, error) {
	if err := checkPresent(data); err != nil {
		return Info{}, err
	}
	pair, err := tls.X509KeyPair(data[certKey], data[keyKey])
	if err != nil {
		return Info{}, fmt.Errorf("%s and %s are not a usable certificate and private key pair (PEM, the "+
			"certificate first in %s, then any intermediates): %w", certKey, keyKey, certKey, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		// X509KeyPair fills Leaf since Go 1.23; parse it ourselves rather than rely on that silently.
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return Info{}, fmt.Errorf("parsing the certificate in %s: %w", certKey, err)
		}
	}
	info := Info{
		NotBefore: leaf.NotBefore,
		NotAfter:  leaf.NotAfter,
		DNSNames:  leaf.DNSNames,
		Issuer:    leaf.Issuer.String(),
	}
	// A certificate is valid from NotBefore to NotAfter, both included, as crypto/x509 verifies it.
	switch {
	case now.Before(leaf.NotBefore):
		return info, fmt.Errorf("%w: the certificate in %s is valid from %s to %s, and it is now %s", ErrNotYetValid,
			certKey, rfc3339(leaf.NotBefore), rfc3339(leaf.NotAfter), rfc3339(now))
	case now.After(leaf.NotAfter):
		return info, fmt.Errorf("%w: the certificate in %s expired at %s (valid from %s); renew it", ErrExpired,
			certKey, rfc3339(leaf.NotAfter), rfc3339(leaf.NotBefore))
	}
	return info, nil
}

// checkPresent names every missing key, so that a user fixes the Secret in one go.
func checkPresent(data map[string][]byte) error {
	const want = "a kubernetes.io/tls Secret needs tls.crt (the PEM certificate chain) and tls.key (its PEM private key)"
	_, hasCert := data[certKey]
	_, hasKey := data[keyKey]
	switch {
	case !hasCert && !hasKey:
		return errors.New("the Secret has neither tls.crt nor tls.key: " + want)
	case !hasCert:
		return errors.New("the Secret has no tls.crt: " + want)
	case !hasKey:
		return errors.New("the Secret has no tls.key: " + want)
	}
	for _, k := range []string{certKey, keyKey} {
		if len(data[k]) == 0 {
			return fmt.Errorf("%s is empty: %s", k, want)
		}
	}
	return nil
}

func rfc3339(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
