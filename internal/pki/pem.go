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

package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// PEM block types of what this package writes.
const (
	blockCertificate = "CERTIFICATE"
	blockECKey       = "EC PRIVATE KEY" // SEC 1
	blockPKCS8Key    = "PRIVATE KEY"
	blockPublicKey   = "PUBLIC KEY"
)

// CertPEM is the certificate, PEM-encoded.
func (p *Pair) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: blockCertificate, Bytes: p.Cert.Raw})
}

// PEM is the certificate and its private key (SEC 1), PEM-encoded, as a kubernetes.io/tls Secret holds them.
func (p *Pair) PEM() (certPEM, keyPEM []byte, err error) {
	keyPEM, err = p.KeyPEM()
	if err != nil {
		return nil, nil, err
	}
	return p.CertPEM(), keyPEM, nil
}

// KeyPEM is the private key, PEM-encoded in SEC 1 form ("EC PRIVATE KEY").
func (p *Pair) KeyPEM() ([]byte, error) {
	return EncodeECKey(p.Key)
}

// PKCS8KeyPEM is the private key, PEM-encoded in PKCS #8 form ("PRIVATE KEY"), as openssl and cert-manager
// write it by default.
func (p *Pair) PKCS8KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(p.Key)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: blockPKCS8Key, Bytes: der}), nil
}

// EncodeECKey PEM-encodes key in SEC 1 form ("EC PRIVATE KEY").
func EncodeECKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: blockECKey, Bytes: der}), nil
}

// EncodePublicKey PEM-encodes a public key in PKIX form ("PUBLIC KEY").
func EncodePublicKey(pub any) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding the public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: blockPublicKey, Bytes: der}), nil
}

// ParseCertificatePEM parses the first PEM block of data, which must be a certificate.
func ParseCertificatePEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	switch {
	case block == nil:
		return nil, errors.New("not PEM: no \"-----BEGIN CERTIFICATE-----\" block")
	case block.Type != blockCertificate:
		return nil, fmt.Errorf("a %q PEM block where a certificate was expected", block.Type)
	}
	return x509.ParseCertificate(block.Bytes)
}

// ParseECKeyPEM parses the first PEM block of data, which must be an ECDSA private key in SEC 1 or PKCS #8 form.
func ParseECKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("not PEM: no \"-----BEGIN EC PRIVATE KEY-----\" block")
	}
	switch block.Type {
	case blockECKey:
		return x509.ParseECPrivateKey(block.Bytes)
	case blockPKCS8Key:
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		ec, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("a %T where an ECDSA private key was expected", key)
		}
		return ec, nil
	}
	return nil, fmt.Errorf("a %q PEM block where an ECDSA private key was expected", block.Type)
}
