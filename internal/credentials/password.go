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

package credentials

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/pier-dev/pier/internal/serverconfig"
)

// passwordAlphabet is letters and digits without the look-alikes 0, O, 1, l and I, so a generated password can
// be read aloud or typed from a screen without guessing.
const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// generatedPasswordLength gives 32 * log2(57), about 186 bits of entropy, and stays well under bcrypt's 72 bytes.
const generatedPasswordLength = 32

// minGeneratedPasswordLength gives about 93 bits of entropy: no caller should ask for less.
const minGeneratedPasswordLength = 16

// maxPasswordBytes is bcrypt's limit: it ignores everything after the 72nd byte.
const maxPasswordBytes = 72

// HashCost is the bcrypt cost pier hashes passwords with: bcrypt's default, below serverconfig.MaxBcryptCost.
// pier-server compares unknown users against a hash of this cost, so that they take as long as known ones.
const HashCost = bcrypt.DefaultCost

// bcryptPrefixes start every bcrypt hash pier accepts; a Secret value starting with one is taken for a hash.
var bcryptPrefixes = []string{"$2a$", "$2b$", "$2y$"}

// GeneratePassword returns a random password of 32 characters from an unambiguous alphabet (letters and digits
// without 0, O, 1, l and I), drawn from crypto/rand.
func GeneratePassword() (string, error) {
	return GeneratePasswordOfLength(generatedPasswordLength)
}

// GeneratePasswordOfLength is GeneratePassword with length characters, from 16 to 72 (bcrypt's limit).
func GeneratePasswordOfLength(length int) (string, error) {
	if length < minGeneratedPasswordLength || length > maxPasswordBytes {
		return "", fmt.Errorf("a generated password must be %d to %d characters long, not %d",
			minGeneratedPasswordLength, maxPasswordBytes, length)
	}
	limit := big.NewInt(int64(len(passwordAlphabet)))
	password := make([]byte, length)
	for i := range password {
		// rand.Int draws uniformly; taking a random byte modulo 57 would favour the first letters.
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return "", fmt.Errorf("generating a password: %w", err)
		}
		password[i] = passwordAlphabet[n.Int64()]
	}
	return string(password), nil
}

// Hash returns the bcrypt hash of a plaintext password at HashCost. It refuses passwords longer than bcrypt's
// 72 bytes, which bcrypt would cut short.
func Hash(password []byte) (string, error) {
	hash, err := bcrypt.GenerateFromPassword(password, HashCost)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	return string(hash), nil
}

// HashPassword returns the bcrypt hash the server configuration should carry for secret, the bytes of a Secret
// key holding either a plaintext password or a bcrypt hash ($2a$, $2b$ or $2y$).
//
// One trailing "\n" or "\r\n" is removed, because files written by echo or used with kubectl --from-file end
// with one; any other whitespace is part of the password. A bcrypt hash is checked and returned as it is. A
// plaintext password is hashed with bcrypt's default cost, unless previous (the hash the endpoint already serves
// for this user, "" if none) matches it: then previous is returned unchanged, so that reconciling an unchanged
// password renders a byte-identical configuration instead of a new salt every time.
//
// The returned BcryptWork says which of the two bcrypt operations it spent, for the operator's metrics: they cost
// tens of milliseconds each, and a reconcile that pays them for unchanged passwords does not scale.
//
// The password is never part of an error message.
func HashPassword(secret []byte, previous string) (string, BcryptWork, error) {
	var work BcryptWork
	secret = trimOneNewline(secret)
	if len(secret) == 0 {
		return "", work, errors.New("password is empty: put the password, or a bcrypt hash of it, in the Secret key")
	}
	if err := checkPasswordText(secret); err != nil {
		return "", work, err
	}
	if hasBcryptPrefix(secret) {
		if err := checkBcryptHash(secret); err != nil {
			return "", work, err
		}
		return string(secret), work, nil
	}
	if len(secret) > maxPasswordBytes {
		// bcrypt would hash only the first 72 bytes, so any password sharing them would log in too.
		return "", work, fmt.Errorf("password is %d bytes long; bcrypt uses only the first %d bytes, so longer passwords "+
			"are refused: use at most %d bytes", len(secret), maxPasswordBytes, maxPasswordBytes)
	}
	if previous != "" && checkBcryptHash([]byte(previous)) == nil {
		// No memo of earlier matches: any fast digest of a password kept in memory would let whoever reads that
		// memory test guesses without bcrypt's cost. The operator's record of password sources makes this
		// comparison rare instead (once per change of a password's Secret).
		work.Compared = true
		if bcrypt.CompareHashAndPassword([]byte(previous), secret) == nil {
			return previous, work, nil
		}
	}
	work.Hashed = true
	hash, err := Hash(secret)
	return hash, work, err
}

// BcryptWork is what HashPassword spent on bcrypt: a comparison with the previous hash, a new hash, or both.
type BcryptWork struct {
	Compared, Hashed bool
}

// trimOneNewline removes a single trailing "\n" or "\r\n".
func trimOneNewline(b []byte) []byte {
	if after, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		after, _ = bytes.CutSuffix(after, []byte("\r"))
		return after
	}
	return b
}

// checkPasswordText refuses bytes that are not printable text. Such a password cannot be typed at an FTP or SFTP
// prompt, and usually means the Secret holds something else: a binary file, two lines, a stray carriage return.
func checkPasswordText(secret []byte) error {
	if !utf8.Valid(secret) {
		return errors.New("password is not valid UTF-8 text: the Secret key must hold the password as text")
	}
	for i, r := range string(secret) {
		if unicode.IsControl(r) {
			return fmt.Errorf("password contains a control character (%U) at byte %d, such as a second line break, "+
				"a tab or NUL: the Secret key must hold the password alone, on one line (one trailing newline is "+
				"ignored)", r, i)
		}
	}
	return nil
}

func hasBcryptPrefix(secret []byte) bool {
	for _, p := range bcryptPrefixes {
		if bytes.HasPrefix(secret, []byte(p)) {
			return true
		}
	}
	return false
}

// checkBcryptHash checks that hash is a bcrypt hash the server accepts, with a cost it is willing to pay on every
// login attempt.
func checkBcryptHash(hash []byte) error {
	cost, err := serverconfig.BcryptCost(hash)
	if errors.Is(err, serverconfig.ErrNotBcryptHash) {
		return errors.New("password starts like a bcrypt hash ($2a$, $2b$ or $2y$) but is not one: a bcrypt " +
			"hash is 60 characters, such as $2b$10$ followed by 53 characters of salt and hash")
	}
	if err != nil {
		return fmt.Errorf("password is not a valid bcrypt hash (its cost must be between %d and %d): %w",
			bcrypt.MinCost, serverconfig.MaxBcryptCost, err)
	}
	if cost < bcrypt.MinCost || cost > serverconfig.MaxBcryptCost {
		return fmt.Errorf("bcrypt hash has cost %d; the server accepts costs between %d and %d, because every "+
			"login attempt pays that cost: hash the password again with a cost in that range (%d is the default)",
			cost, bcrypt.MinCost, serverconfig.MaxBcryptCost, HashCost)
	}
	return nil
}
