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
	"fmt"
	"testing"
)

var heidiSource = SourceID{Name: "heidi-pw", Key: "password", UID: "6c1d", ResourceVersion: "412"}

const heidiHash = "$2a$10$abcdefghijklmnopqrstuuZ7/8mUj0vx0lHWEq6AYcBoQdb9bN6S2"

// TestPasswordSourcesVouchOnlyForWhatTheyRecorded: an entry vouches for one username's one hash made from one
// Secret version; a change of any part (the Secret written, re-created, another key, the hash edited) is not
// vouched for.
func TestPasswordSourcesVouchOnlyForWhatTheyRecorded(t *testing.T) {
	record := ParsePasswordSources(EncodePasswordSources([]Vouched{{"heidi", heidiSource, heidiHash}}, 1<<20))
	if !record.Vouches("heidi", heidiSource, heidiHash) {
		t.Fatal("the record does not vouch for what it recorded")
	}
	changed := func(f func(*SourceID)) SourceID {
		id := heidiSource
		f(&id)
		return id
	}
	tests := []struct {
		name     string
		username string
		id       SourceID
		hash     string
	}{
		{"another username", "ivan", heidiSource, heidiHash},
		{"the Secret written", "heidi", changed(func(id *SourceID) { id.ResourceVersion = "413" }), heidiHash},
		{"the Secret re-created", "heidi", changed(func(id *SourceID) { id.UID = "77aa" }), heidiHash},
		{"another key", "heidi", changed(func(id *SourceID) { id.Key = "pw" }), heidiHash},
		{"another Secret", "heidi", changed(func(id *SourceID) { id.Name = "other" }), heidiHash},
		{"another hash", "heidi", heidiSource, heidiHash[:len(heidiHash)-1] + "3"},
		{"no hash", "heidi", heidiSource, ""},
		{"no version", "heidi", changed(func(id *SourceID) { id.ResourceVersion = "" }), heidiHash},
		{"parts moved across fields", "heidi-pw", SourceID{Name: "heidi", Key: "password", UID: "6c1d", ResourceVersion: "412"}, heidiHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if record.Vouches(tt.username, tt.id, tt.hash) {
				t.Error("vouched for")
			}
		})
	}
}

// TestPasswordSourcesEncoding: the same entries in any order give the same bytes, a limit keeps the first entries
// that fit, and anything but a record vouches for nothing.
func TestPasswordSourcesEncoding(t *testing.T) {
	entries := make([]Vouched, 0, 5)
	for i := range 5 {
		id := heidiSource
		id.ResourceVersion = fmt.Sprint(100 + i)
		entries = append(entries, Vouched{fmt.Sprintf("user%d", i), id, heidiHash})
	}
	all := EncodePasswordSources(entries, 1<<20)
	reversed := []Vouched{entries[4], entries[3], entries[2], entries[1], entries[0]}
	if !bytes.Equal(all, EncodePasswordSources(reversed, 1<<20)) {
		t.Error("the order of the entries changes the record")
	}
	if !bytes.Equal(all, EncodePasswordSources(append(entries, entries[0]), 1<<20)) {
		t.Error("an entry listed twice changes the record")
	}
	cut := ParsePasswordSources(EncodePasswordSources(entries, 2*16+15))
	for i, v := range entries {
		if got, want := cut.Vouches(v.Username, v.Source, v.Hash), i < 2; got != want {
			t.Errorf("a record cut to two entries vouches for entry %d: %v", i, got)
		}
	}
	for _, data := range [][]byte{nil, all[:len(all)-1], []byte("not a record")} {
		if ParsePasswordSources(data).Vouches(entries[0].Username, entries[0].Source, entries[0].Hash) {
			t.Errorf("%q vouches for an entry", data)
		}
	}
	if len(EncodePasswordSources(entries, 0)) != 0 || len(EncodePasswordSources(entries, -1)) != 0 {
		t.Error("a record without room holds something")
	}
}
