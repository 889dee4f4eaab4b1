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

package users

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"k8s.io/apimachinery/pkg/types"
)

// SourceID identifies one version of the Secret key a password was read from. A Secret's UID changes when it is
// deleted and created again, and its resourceVersion with every write to it, so the same SourceID always means
// the same bytes under the key.
type SourceID struct {
	Name, Key       string
	UID             types.UID
	ResourceVersion string
}

// PasswordSources is the record, kept beside the config in the endpoint's config Secret, of the Secret versions
// the served password hashes were made from. It is what lets the operator serve an unchanged password without
// reading its Secret or running bcrypt, even right after it restarts: when the record vouches for the served hash
// under the Secret's current version, that hash is still the hash of what the Secret holds.
//
// Each entry is a digest of the username, the SourceID and the hash it vouches for; never of the password. A
// digest binds all of them, so an entry vouches for nothing once any of them changes (the Secret written,
// deleted and re-created, another key named, the served hash edited by hand): the password is then read and
// checked again. Entries are never trusted for anything else, so a record that is lost, cut short (see
// EncodePasswordSources) or edited costs at most one read and one bcrypt comparison per password.
type PasswordSources struct {
	digests map[sourceDigest]struct{}
}

// sourceDigest is 128 bits of SHA-256: a chance collision among the entries of even the largest endpoint is
// far less likely than a failure of the hardware.
type sourceDigest [16]byte

// sourcesFormat is part of every digest, so a record of another format never vouches for anything.
const sourcesFormat = "pier password source v1"

// Vouched is one entry to record: username's served hash was made from the Secret version Source.
type Vouched struct {
	Username string
	Source   SourceID
	Hash     string
}

func (v Vouched) digest() sourceDigest {
	h := sha256.New()
	for _, part := range []string{sourcesFormat, v.Username, v.Source.Name, v.Source.Key, string(v.Source.UID),
		v.Source.ResourceVersion, v.Hash} {
		// Length-prefixed, so no two different lists of parts hash the same bytes.
		_ = binary.Write(h, binary.BigEndian, uint32(len(part)))
		h.Write([]byte(part))
	}
	var d sourceDigest
	copy(d[:], h.Sum(nil))
	return d
}

// ParsePasswordSources reads a record EncodePasswordSources wrote. Anything else (no record, or one of another
// length) is an empty record: it vouches for nothing, which is always safe.
func ParsePasswordSources(data []byte) PasswordSources {
	if len(data) == 0 || len(data)%len(sourceDigest{}) != 0 {
		return PasswordSources{}
	}
	out := PasswordSources{digests: make(map[sourceDigest]struct{}, len(data)/len(sourceDigest{}))}
	for rest := data; len(rest) > 0; rest = rest[len(sourceDigest{}):] {
		out.digests[sourceDigest(rest[:len(sourceDigest{})])] = struct{}{}
	}
	return out
}

// Vouches reports whether the record says that hash, served for username, was made from the Secret version id.
func (s PasswordSources) Vouches(username string, id SourceID, hash string) bool {
	if hash == "" || id.UID == "" || id.ResourceVersion == "" {
		return false
	}
	_, ok := s.digests[Vouched{Username: username, Source: id, Hash: hash}.digest()]
	return ok
}

// EncodePasswordSources is the record of entries, at most limit bytes of it: the entries first in the list are
// kept when not all fit (the caller lists the oldest users first, whose record then survives). The digests are
// sorted, so the same entries always give the same bytes and an unchanged record never rewrites its Secret.
func EncodePasswordSources(entries []Vouched, limit int) []byte {
	n := min(len(entries), max(limit, 0)/len(sourceDigest{}))
	digests := make([]sourceDigest, 0, n)
	for _, v := range entries[:n] {
		digests = append(digests, v.digest())
	}
	slices.SortFunc(digests, func(a, b sourceDigest) int { return bytes.Compare(a[:], b[:]) })
	digests = slices.Compact(digests)
	out := make([]byte, 0, len(digests)*len(sourceDigest{}))
	for _, d := range digests {
		out = append(out, d[:]...)
	}
	return out
}
