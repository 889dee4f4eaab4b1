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

package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedTTL is how long a password that matched its bcrypt hash is accepted again without bcrypt. It counts
// from the bcrypt comparison, not from the last use, so every password is checked against its hash at least this
// often.
const verifiedTTL = 10 * time.Minute

// maxVerified bounds the cache; past it, new logins are simply not remembered until entries expire.
const maxVerified = 10000

// verifiedPasswords remembers, per user, that a password matched the user's bcrypt hash: FTP clients such as curl
// log in once per file, and each bcrypt comparison costs about 60 ms of CPU (a quarter of the server's CPU for a 1
// GiB FTP download). SFTPGo does the same by default.
//
// What is kept is an HMAC-SHA256 of the password under a key made at start and never written anywhere, bound to
// the hash it matched: a changed or removed password (a new hash) misses at once, and a wrong password always
// goes on to bcrypt, so guessing costs as much as before. The trade-off: someone who can read this process's
// memory could test guesses against a remembered HMAC much faster than against bcrypt; such a reader already
// holds the host keys, the TLS key and every file in transit.
//
// The zero value is ready to use.
type verifiedPasswords struct {
	once    sync.Once
	key     [32]byte
	mu      sync.Mutex
	entries map[string]verifiedPassword // by username
	now     func() time.Time            // time.Now; tests replace it
}

type verifiedPassword struct {
	hash    []byte // the bcrypt hash the password matched
	mac     [sha256.Size]byte
	expires time.Time
}

func (v *verifiedPasswords) init() {
	v.once.Do(func() {
		// crypto/rand.Read never fails on Linux (it panics rather than return a weak key).
		_, _ = rand.Read(v.key[:])
		v.entries = make(map[string]verifiedPassword)
		if v.now == nil {
			v.now = time.Now
		}
	})
}

func (v *verifiedPasswords) mac(username string, password string) [sha256.Size]byte {
	m := hmac.New(sha256.New, v.key[:])
	// The length prefix keeps ("ab", "c") and ("a", "bc") apart.
	m.Write([]byte{byte(len(username) >> 8), byte(len(username))})
	m.Write([]byte(username))
	m.Write([]byte(password))
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	return sum
}

// matches says whether password is the one that matched hash for username within verifiedTTL.
func (v *verifiedPasswords) matches(username string, hash []byte, password string) bool {
	v.init()
	v.mu.Lock()
	e, ok := v.entries[username]
	v.mu.Unlock()
	if !ok || !bytes.Equal(e.hash, hash) || !v.now().Before(e.expires) {
		return false
	}
	mac := v.mac(username, password)
	return hmac.Equal(mac[:], e.mac[:])
}

// remember records that password matched hash for username, just now.
func (v *verifiedPasswords) remember(username string, hash []byte, password string) {
	v.init()
	e := verifiedPassword{hash: bytes.Clone(hash), mac: v.mac(username, password), expires: v.now().Add(verifiedTTL)}
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.entries[username]; !ok && len(v.entries) >= maxVerified {
		now := v.now()
		for name, old := range v.entries {
			if !now.Before(old.expires) {
				delete(v.entries, name)
			}
		}
		if len(v.entries) >= maxVerified {
			return
		}
	}
	v.entries[username] = e
}
