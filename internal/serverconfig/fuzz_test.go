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
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, and that whatever it accepts survives Marshal and Parse unchanged and
// marshals to the same bytes again.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, name := range files {
		f.Add(readFile(f, name))
	}
	f.Add([]byte(""))
	f.Add([]byte("apiVersion: server.pier.dev/v1\n"))
	f.Add([]byte(baseYAML("limits: {idleTimeout: 1h30m, banDuration: 1.5h}\nusers: [{username: \"yes\", passwordHash: \"" +
		testHash + "\"}]\n")))

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a config and an error: %v", err)
			}
			return
		}
		out, again := checkRoundTrip(t, c, data)
		if out2, err := again.Marshal(); err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("Marshal is not stable: %v\n%s\nthen\n%s", err, out, out2)
		}
	})
}

// FuzzMarshalStrings puts arbitrary strings wherever a valid config may hold free text (usernames, paths, key
// comments, host names) and checks that every config Validate accepts survives Marshal and Parse unchanged. Random
// YAML seldom gets that far, so this aims at the quoting that FuzzParse rarely reaches.
func FuzzMarshalStrings(f *testing.F) {
	for _, s := range []string{"alice", "yes", "0777", "1e3", "null", "~", "a: b", "#x", "\"q\"", "é", "\u2028", " x "} {
		f.Add(s, "/"+s, s, "/data/"+s, s)
	}
	f.Fuzz(func(t *testing.T, username, home, comment, root, host string) {
		c := &Config{
			APIVersion: APIVersion,
			Kind:       Kind,
			FTP: &FTP{
				TLS:     TLS{CertFile: root + "/tls.crt", KeyFile: root + "/tls.key"},
				Passive: Passive{PortRange: PortRange{Start: 30000, End: 30000}, PublicAddress: host},
			},
			Storage: Storage{Root: root},
			Users: []User{{
				Username:       username,
				PasswordHash:   testHash,
				AuthorizedKeys: []string{testKey[:strings.LastIndex(testKey, " ")+1] + comment},
				HomeDirectory:  home,
			}},
		}
		c.ApplyDefaults()
		if c.Validate() != nil {
			return
		}
		checkRoundTrip(t, c, nil)
	})
}

// checkRoundTrip checks that c survives Marshal and Parse unchanged, and returns what Marshal wrote and what Parse
// made of it. input is what c was parsed from, if it was, for the failure message.
func checkRoundTrip(t *testing.T, c *Config, input []byte) ([]byte, *Config) {
	t.Helper()
	out, err := c.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	again, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(Marshal(c)): %v\n--- input:\n%q\n--- marshalled:\n%s", err, input, out)
	}
	if !reflect.DeepEqual(c, again) {
		t.Fatalf("Parse(Marshal(c)) != c\n--- input:\n%q\n--- marshalled:\n%s", input, out)
	}
	return out, again
}
