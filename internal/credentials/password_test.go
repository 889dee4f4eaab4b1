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
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/pier-dev/pier/internal/serverconfig"
)

// Hashes at bcrypt's lowest cost, so that the tests stay fast: of "s3cret", and of 72 times "a". (testcreds.Hash
// makes such hashes, but testcreds imports this package.)
const (
	s3cretHash = "$2a$04$kN3EOPs/A9a6Np/QngXRnugAjaPqOMTHNsH4DAlMHvts.Y5eQi3Eu"
	longHash   = "$2a$04$qY2wMoZ9FkaE34IfXBbAheNrbivr5P/xwNAfRal91NXaZtpo04PPq"
)

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		p, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 32 {
			t.Fatalf("GeneratePassword() = %q, %d characters, want 32", p, len(p))
		}
		for _, r := range p {
			if !strings.ContainsRune(passwordAlphabet, r) {
				t.Fatalf("GeneratePassword() = %q: %q is not in the alphabet", p, r)
			}
		}
		if seen[p] {
			t.Fatalf("GeneratePassword() returned %q twice", p)
		}
		seen[p] = true
	}
}

func TestGeneratePasswordOfLength(t *testing.T) {
	for _, tc := range []struct {
		length  int
		wantErr bool
	}{
		{length: 16}, {length: 24}, {length: 72},
		{length: 15, wantErr: true}, {length: 73, wantErr: true}, {length: 0, wantErr: true}, {length: -1, wantErr: true},
	} {
		p, err := GeneratePasswordOfLength(tc.length)
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), "16 to 72 characters") {
				t.Errorf("GeneratePasswordOfLength(%d) = %q, %v; want an error naming the range", tc.length, p, err)
			}
			continue
		}
		if err != nil || len(p) != tc.length || strings.Trim(p, passwordAlphabet) != "" {
			t.Errorf("GeneratePasswordOfLength(%d) = %q, %v", tc.length, p, err)
		}
	}
}

func TestHash(t *testing.T) {
	for _, password := range []string{"s3cret", "", " spaces and ünïcode ", strings.Repeat("x", 72)} {
		hash, err := Hash([]byte(password))
		if err != nil {
			t.Fatalf("Hash(%q): %v", password, err)
		}
		if cost, _ := bcrypt.Cost([]byte(hash)); cost != HashCost || cost > serverconfig.MaxBcryptCost {
			t.Errorf("cost %d, want %d (at most %d)", cost, HashCost, serverconfig.MaxBcryptCost)
		}
		if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
			t.Errorf("Hash(%q) does not match it", password)
		}
		checkServerAcceptsHash(t, hash)
	}
	// bcrypt would ignore the 73rd byte, so any password sharing the first 72 would log in too.
	if hash, err := Hash([]byte(strings.Repeat("x", 73))); err == nil {
		t.Fatalf("Hash(73 bytes) = %q, want an error", hash)
	}
}

func TestPasswordAlphabetIsUnambiguous(t *testing.T) {
	for _, r := range "0O1lI" {
		if strings.ContainsRune(passwordAlphabet, r) {
			t.Errorf("alphabet contains the ambiguous %q", r)
		}
	}
	for _, r := range passwordAlphabet {
		if strings.Count(passwordAlphabet, string(r)) != 1 {
			t.Errorf("alphabet lists %q more than once, which would make it likelier", r)
		}
	}
}

func TestGeneratedPasswordHashes(t *testing.T) {
	p, err := GeneratePassword()
	if err != nil {
		t.Fatal(err)
	}
	hash, _, err := HashPassword([]byte(p), "")
	if err != nil {
		t.Fatalf("HashPassword(generated password): %v", err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(p)); err != nil {
		t.Fatalf("hash does not match the generated password: %v", err)
	}
}

func TestHashPasswordPlaintext(t *testing.T) {
	tests := []struct {
		name     string
		secret   string
		password string // what the hash must match
		notMatch string // what it must not match, if set
	}{
		{name: "plain", secret: "s3cret-Pass", password: "s3cret-Pass"},
		{name: "trailing newline from echo", secret: "s3cret\n", password: "s3cret", notMatch: "s3cret\n"},
		{name: "trailing CRLF", secret: "s3cret\r\n", password: "s3cret", notMatch: "s3cret\r\n"},
		{name: "spaces are kept", secret: " s3cret \n", password: " s3cret ", notMatch: "s3cret"},
		{name: "UTF-8", secret: "pässwörd-ü", password: "pässwörd-ü"},
		{name: "72 bytes", secret: strings.Repeat("a", 72), password: strings.Repeat("a", 72)},
		{name: "72 bytes and a newline", secret: strings.Repeat("a", 72) + "\n", password: strings.Repeat("a", 72)},
		{name: "looks a little like a hash", secret: "$2x$10$abc", password: "$2x$10$abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash, _, err := HashPassword([]byte(tt.secret), "")
			if err != nil {
				t.Fatalf("HashPassword: %v", err)
			}
			if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(tt.password)); err != nil {
				t.Errorf("hash does not match %q: %v", tt.password, err)
			}
			if tt.notMatch != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(tt.notMatch)) == nil {
				t.Errorf("hash also matches %q", tt.notMatch)
			}
			if cost, _ := bcrypt.Cost([]byte(hash)); cost != bcrypt.DefaultCost {
				t.Errorf("cost %d, want %d", cost, bcrypt.DefaultCost)
			}
			checkServerAcceptsHash(t, hash)
		})
	}
}

func TestHashPasswordExistingHash(t *testing.T) {
	hash := s3cretHash
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte("s3cret")) != nil {
		t.Fatal("s3cretHash is not a hash of s3cret")
	}
	tests := []struct {
		name   string
		secret string
		want   string
	}{
		{name: "$2a$", secret: hash, want: hash},
		{name: "trailing newline", secret: hash + "\n", want: hash},
		{name: "$2b$", secret: "$2b$" + hash[4:], want: "$2b$" + hash[4:]},
		{name: "$2y$", secret: "$2y$" + hash[4:], want: "$2y$" + hash[4:]},
		{name: "cost 14", secret: withCost(hash, "14"), want: withCost(hash, "14")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := HashPassword([]byte(tt.secret), "")
			if err != nil {
				t.Fatalf("HashPassword: %v", err)
			}
			if got != tt.want {
				t.Errorf("HashPassword = %q, want the hash unchanged, %q", got, tt.want)
			}
			checkServerAcceptsHash(t, got)
		})
	}
}

func TestHashPasswordErrors(t *testing.T) {
	hash := s3cretHash
	tests := []struct {
		name    string
		secret  string
		wantErr string
	}{
		{name: "empty", secret: "", wantErr: "is empty"},
		{name: "only a newline", secret: "\n", wantErr: "is empty"},
		{name: "only CRLF", secret: "\r\n", wantErr: "is empty"},
		{name: "two trailing newlines", secret: "s3cret\n\n", wantErr: "control character"},
		{name: "two lines", secret: "s3cret\nother\n", wantErr: "control character"},
		{name: "carriage return", secret: "s3cret\r", wantErr: "control character"},
		{name: "NUL", secret: "s3c\x00ret", wantErr: "control character"},
		{name: "tab", secret: "s3c\tret", wantErr: "control character"},
		{name: "DEL", secret: "s3c\x7fret", wantErr: "control character"},
		{name: "C1 control", secret: "s3c\u0085ret", wantErr: "control character"},
		{name: "not UTF-8", secret: "s3c\xffret", wantErr: "not valid UTF-8"},
		{name: "73 bytes", secret: strings.Repeat("a", 73), wantErr: "73 bytes long"},
		{name: "73 bytes of UTF-8", secret: strings.Repeat("ä", 36) + "a", wantErr: "73 bytes long"},
		{name: "truncated hash", secret: hash[:40], wantErr: "not one"},
		{name: "hash with a space", secret: hash[:20] + " " + hash[21:], wantErr: "not one"},
		{name: "hash cost 15", secret: withCost(hash, "15"), wantErr: "between 4 and 14"},
		{name: "hash cost 31", secret: withCost(hash, "31"), wantErr: "between 4 and 14"},
		{name: "hash cost 3", secret: withCost(hash, "03"), wantErr: "between 4 and 14"},
		{name: "hash cost 99", secret: withCost(hash, "99"), wantErr: "between 4 and 14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := HashPassword([]byte(tt.secret), "")
			if err == nil {
				t.Fatalf("HashPassword = %q, want an error containing %q", got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if len(tt.secret) > 3 && !strings.HasPrefix(tt.secret, "$2") && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q quotes the password", err)
			}
		})
	}
}

func TestHashPasswordKeepsPreviousHash(t *testing.T) {
	previous, _, err := HashPassword([]byte("s3cret"), "")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 72)
	previousLong := longHash
	tests := []struct {
		name     string
		secret   string
		previous string
		wantSame bool
	}{
		{name: "same password", secret: "s3cret", previous: previous, wantSame: true},
		{name: "same password, trailing newline", secret: "s3cret\n", previous: previous, wantSame: true},
		{name: "same 72-byte password", secret: long, previous: previousLong, wantSame: true},
		{name: "changed password", secret: "n3w-s3cret", previous: previous},
		{name: "no previous hash", secret: "s3cret", previous: ""},
		{name: "previous is not a hash", secret: "s3cret", previous: "s3cret"},
		{name: "previous cost too high", secret: "s3cret", previous: withCost(previous, "15")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := HashPassword([]byte(tt.secret), tt.previous)
			if err != nil {
				t.Fatalf("HashPassword: %v", err)
			}
			if tt.wantSame {
				if got != tt.previous {
					t.Errorf("HashPassword = %q, want the previous hash %q", got, tt.previous)
				}
				return
			}
			if got == tt.previous {
				t.Errorf("HashPassword returned the previous hash %q", got)
			}
			want := strings.TrimSuffix(tt.secret, "\n")
			if err := bcrypt.CompareHashAndPassword([]byte(got), []byte(want)); err != nil {
				t.Errorf("new hash does not match the password: %v", err)
			}
		})
	}
}

// A password longer than bcrypt's 72 bytes must not pass as unchanged just because its first 72 bytes match.
func TestHashPasswordRefusesLongPasswordMatchingPrevious(t *testing.T) {
	long := strings.Repeat("a", 72)
	previous := longHash
	if got, _, err := HashPassword([]byte(long+"b"), previous); err == nil {
		t.Fatalf("HashPassword = %q, want an error", got)
	}
}

// withCost returns hash with its two cost digits replaced.
func withCost(hash, cost string) string {
	return hash[:4] + cost + hash[6:]
}

// checkServerAcceptsHash fails if pier-server's own validation refuses hash.
func checkServerAcceptsHash(t *testing.T, hash string) {
	t.Helper()
	u := serverconfig.User{Username: "alice", PasswordHash: hash}
	if err := u.Validate(); err != nil {
		t.Errorf("server refuses the hash %q: %v", hash, err)
	}
}

// TestHashPasswordReportsItsBcryptWork: the work HashPassword reports is the bcrypt it ran: nothing for a hash
// given as it is, a comparison for a password checked against the previous hash, a hash for a new one.
func TestHashPasswordReportsItsBcryptWork(t *testing.T) {
	previous, work, err := HashPassword([]byte("first"), "")
	if err != nil || work != (BcryptWork{Hashed: true}) {
		t.Fatalf("a new password: work %+v, error %v; want one hash", work, err)
	}
	tests := []struct {
		name, secret, previous string
		want                   BcryptWork
	}{
		{"a bcrypt hash", previous, "", BcryptWork{}},
		{"a bcrypt hash, with a previous one", previous, previous, BcryptWork{}},
		{"the same password", "first", previous, BcryptWork{Compared: true}},
		{"a changed password", "second", previous, BcryptWork{Compared: true, Hashed: true}},
		{"a previous hash pier-server would refuse", "first", withCost(previous, "15"), BcryptWork{Hashed: true}},
		{"an empty password", "", previous, BcryptWork{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, work, _ := HashPassword([]byte(tt.secret), tt.previous); work != tt.want {
				t.Errorf("work %+v, want %+v", work, tt.want)
			}
		})
	}
}
