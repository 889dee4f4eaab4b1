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

package serverconfig

import (
	"errors"
	"regexp"
	"slices"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
)

// The credentials pier-server accepts are defined here, in the contract, and nowhere else: the server validates
// its configuration with these rules, and the operator (internal/credentials, internal/controller/hostkeys) checks
// what users give it against the same values, so that it never renders a configuration the server would refuse.
// The operator may refuse more (options before a key, weak RSA user keys), never less.

// MaxBcryptCost is the highest bcrypt cost accepted. Cost 14 already takes about a second per check on a
// server core; the operator hashes with bcrypt's default, 10.
const MaxBcryptCost = 14

// MinRSAHostKeyBits is the smallest RSA host key the server loads: 2048-bit keys are below current
// recommendations.
const MinRSAHostKeyBits = 3072

// acceptedKeyTypes are the user key types accepted, as for TransferUser's CEL rule: no DSA, no certificates.
var acceptedKeyTypes = []string{
	ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSA,
	ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256,
}

// AcceptedKeyTypes returns the user key types accepted in authorizedKeys, in the order error messages list them.
func AcceptedKeyTypes() []string { return slices.Clone(acceptedKeyTypes) }

// KeyTypeAccepted reports whether keyType (ssh.PublicKey.Type) is accepted in authorizedKeys.
func KeyTypeAccepted(keyType string) bool { return slices.Contains(acceptedKeyTypes, keyType) }

// bcryptRE matches the modular-crypt form of a bcrypt hash: version, two-digit cost, 22 characters of salt and
// 31 of hash in bcrypt's base64 alphabet.
var bcryptRE = regexp.MustCompile(`^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$`)

// ErrNotBcryptHash is BcryptCost's error for a value that does not have the form of a bcrypt hash.
var ErrNotBcryptHash = errors.New("not a bcrypt hash (want $2a$, $2b$ or $2y$)")

// BcryptCost returns the cost of a bcrypt hash in the form the server accepts ($2a$, $2b$ or $2y$, a two-digit
// cost, 53 characters of salt and hash). It fails with ErrNotBcryptHash when hash does not have that form, and
// with bcrypt's error when bcrypt cannot read the cost (below 4 or above 31). Whether the cost is at most
// MaxBcryptCost is the caller's check.
func BcryptCost(hash []byte) (int, error) {
	if !bcryptRE.Match(hash) {
		return 0, ErrNotBcryptHash
	}
	return bcrypt.Cost(hash)
}
