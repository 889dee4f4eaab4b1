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

package sftp

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// offers checks that h offers exactly the one key want. A problem that is not empty names what Signers must
// report meanwhile, as an error; with none, Signers must report nothing.
func offers(t *testing.T, h *HostKeys, want ssh.PublicKey, problem string) {
	t.Helper()
	signers, err := h.Signers()
	switch {
	case problem == "" && err != nil:
		t.Fatal(err)
	case problem != "" && err == nil:
		t.Errorf("Signers did not report %s", problem)
	}
	if len(signers) != 1 || !bytes.Equal(signers[0].PublicKey().Marshal(), want.Marshal()) {
		got := make([]string, 0, len(signers))
		for _, s := range signers {
			got = append(got, ssh.FingerprintSHA256(s.PublicKey()))
		}
		t.Fatalf("host keys %v, want only %s", got, ssh.FingerprintSHA256(want))
	}
}

// hostKeysIn writes a new host key to file and loads it; it returns the HostKeys and the key's public half.
func hostKeysIn(t *testing.T, file string) (*HostKeys, ssh.PublicKey) {
	t.Helper()
	key := testcreds.WriteHostKey(t, file)
	h, err := NewHostKeys([]string{file})
	if err != nil {
		t.Fatal(err)
	}
	return h, key
}

func TestHostKeysAreKeptWhenTheirFileGoes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ssh_host_ed25519_key")
	h, first := hostKeysIn(t, file)

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	offers(t, h, first, "the missing file")

	if err := os.WriteFile(file, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	offers(t, h, first, "the unparsable file")

	second := testcreds.WriteHostKey(t, file)
	offers(t, h, second, "")
}

func TestSetFilesKeepsTheKeysUntilTheNewFilesLoad(t *testing.T) {
	dir := t.TempDir()
	h, first := hostKeysIn(t, filepath.Join(dir, "old"))

	next := filepath.Join(dir, "next")
	if err := h.SetFiles([]string{next}); err == nil {
		t.Fatal("SetFiles did not report that the new file is missing")
	}
	offers(t, h, first, "that the new file is still missing")

	second := testcreds.WriteHostKey(t, next)
	offers(t, h, second, "")
}

func TestNewHostKeysNeedsUsableFiles(t *testing.T) {
	if _, err := NewHostKeys([]string{filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Fatal("NewHostKeys started without a host key")
	}
}
