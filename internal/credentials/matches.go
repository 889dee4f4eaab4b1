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
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Checking that an unchanged password still matches the hash the endpoint serves costs one bcrypt comparison
// (tens of milliseconds at the default cost), and both reconcilers do it for every password user on every pass:
// with thousands of users that is minutes of CPU per change. So matches remembers the pairs that matched, as a
// keyed hash of the pair: with a key made at start and never stored, an entry reveals nothing about the password
// to whoever reads the process's memory later, and a changed password or hash simply misses.
var matched = &matchMemo{key: randomKey(), seen: map[[sha256.Size]byte]struct{}{}}

// maxRemembered bounds the memo (about 100 bytes an entry); when full it starts over.
const maxRemembered = 100_000

type matchMemo struct {
	key  []byte
	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{}
}

func randomKey() []byte {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (it aborts the program instead)
	return key
}

// matches reports whether password matches the bcrypt hash, as bcrypt.CompareHashAndPassword would, and whether
// it ran bcrypt to find out.
func matches(hash string, password []byte) (ok, compared bool) {
	mac := hmac.New(sha256.New, matched.key)
	mac.Write([]byte(hash))
	mac.Write([]byte{0})
	mac.Write(password)
	var id [sha256.Size]byte
	copy(id[:], mac.Sum(nil))

	matched.mu.Lock()
	_, ok = matched.seen[id]
	matched.mu.Unlock()
	if ok {
		return true, false
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), password) != nil {
		return false, true
	}
	matched.mu.Lock()
	if len(matched.seen) >= maxRemembered {
		clear(matched.seen)
	}
	matched.seen[id] = struct{}{}
	matched.mu.Unlock()
	return true, true
}
