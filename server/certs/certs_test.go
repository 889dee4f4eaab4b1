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

package certs

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// pemPair is a self-signed certificate and its key, PEM encoded, named by its common name.
type pemPair struct {
	name      string
	cert, key []byte
}

func newPair(t *testing.T, name string) pemPair {
	t.Helper()
	cert, key := testcreds.SelfSigned(t, name)
	return pemPair{name: name, cert: cert, key: key}
}

func writePair(t *testing.T, dir string, p pemPair) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	testcreds.WriteFileAtomic(t, certFile, p.cert)
	testcreds.WriteFileAtomic(t, keyFile, p.key)
	return certFile, keyFile
}

// startReloader writes a pair named name into dir and starts a Reloader on it.
func startReloader(t *testing.T, dir, name string) (r *Reloader, certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = writePair(t, dir, newPair(t, name))
	r, err := NewReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return r, certFile, keyFile
}

// serves fails the test unless r serves the certificate named want; when says after what.
func serves(t *testing.T, r *Reloader, want, when string) {
	t.Helper()
	if got := commonName(t, r); got != want {
		t.Fatalf("%s: certificate %q, want %s", when, got, want)
	}
}

func commonName(t *testing.T, r *Reloader) string {
	t.Helper()
	cert, err := r.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return cert.Leaf.Subject.CommonName
}

// errorCounter is a slog handler counting error records, to check what the reloader reports.
type errorCounter struct {
	mu     sync.Mutex
	errors int
}

func (h *errorCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *errorCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.mu.Lock()
		h.errors++
		h.mu.Unlock()
	}
	return nil
}
func (h *errorCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *errorCounter) WithGroup(string) slog.Handler      { return h }
func (h *errorCounter) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.errors
}

func TestReloadAfterReplace(t *testing.T) {
	dir := t.TempDir()
	r, _, _ := startReloader(t, dir, "first")
	r.Log = slog.New(&errorCounter{})
	serves(t, r, "first", "at the start")
	writePair(t, dir, newPair(t, "second"))
	serves(t, r, "second", "after replacing the files")
}

// TestReloadAfterInPlaceRewrite covers tools that truncate and rewrite the file, keeping its inode.
func TestReloadAfterInPlaceRewrite(t *testing.T) {
	r, certFile, keyFile := startReloader(t, t.TempDir(), "first")
	next := newPair(t, "second")
	later := time.Now().Add(time.Minute) // a file system with coarse timestamps must still see a change
	for file, data := range map[string][]byte{certFile: next.cert, keyFile: next.key} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(file, later, later); err != nil {
			t.Fatal(err)
		}
	}
	serves(t, r, "second", "after rewriting the files in place")
}

// TestKubernetesSecretSwap mounts the pair the way the kubelet does: tls.crt -> ..data/tls.crt, ..data -> a
// timestamped directory, and an update writes a new directory and swaps the ..data link atomically.
func TestKubernetesSecretSwap(t *testing.T) {
	dir := t.TempDir()
	publish := func(version string, p pemPair) {
		t.Helper()
		data := filepath.Join(dir, version)
		if err := os.Mkdir(data, 0o750); err != nil {
			t.Fatal(err)
		}
		writePair(t, data, p)
		tmpLink := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(version, tmpLink); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmpLink, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish("..2026_01_01_00_00_00.1", newPair(t, "first"))
	for _, name := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewReloader(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	serves(t, r, "first", "at the start")
	publish("..2026_02_01_00_00_00.2", newPair(t, "second"))
	serves(t, r, "second", "after the ..data swap")
}

// TestBadPairKeepsLastGood: a certificate written before its key, garbage, and missing files all keep the last
// good certificate; each bad version is logged once, and a later good pair is picked up.
func TestBadPairKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	r, certFile, keyFile := startReloader(t, dir, "good")
	counter := &errorCounter{}
	r.Log = slog.New(counter)

	// Half an update: the new certificate with the old key.
	testcreds.WriteFileAtomic(t, certFile, newPair(t, "half").cert)
	for range 3 {
		serves(t, r, "good", "with a mismatched key")
	}
	if n := counter.count(); n != 1 {
		t.Fatalf("%d errors logged for one bad version of the files, want 1", n)
	}

	testcreds.WriteFileAtomic(t, certFile, []byte("not a certificate"))
	serves(t, r, "good", "with garbage")
	if n := counter.count(); n != 2 {
		t.Fatalf("%d errors logged after a second bad version, want 2", n)
	}

	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		serves(t, r, "good", "with the key missing")
	}
	if n := counter.count(); n != 3 {
		t.Fatalf("%d errors logged after the key went missing, want 3", n)
	}

	writePair(t, dir, newPair(t, "fixed"))
	serves(t, r, "fixed", "after a good pair was written")
}

func TestNewReloaderRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := newPair(t, "a"), newPair(t, "b")
	cases := map[string]struct{ cert, key []byte }{
		"mismatched key": {a.cert, b.key},
		"key as cert":    {a.key, a.key},
		"empty":          {nil, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
			testcreds.WriteFileAtomic(t, certFile, tc.cert)
			testcreds.WriteFileAtomic(t, keyFile, tc.key)
			if _, err := NewReloader(certFile, keyFile); err == nil {
				t.Fatal("NewReloader accepted an unusable pair")
			}
		})
	}
	if _, err := NewReloader(filepath.Join(dir, "missing.crt"), filepath.Join(dir, "missing.key")); err == nil {
		t.Fatal("NewReloader accepted missing files")
	}
}

func TestSetFilesKeepsOldPairOnError(t *testing.T) {
	dir := t.TempDir()
	r, _, keyFile := startReloader(t, dir, "first")
	if err := r.SetFiles(filepath.Join(dir, "nope.crt"), keyFile); err == nil {
		t.Fatal("SetFiles accepted a missing certificate file")
	}
	serves(t, r, "first", "after a failed SetFiles")
	other := t.TempDir()
	certFile2, keyFile2 := writePair(t, other, newPair(t, "other"))
	if err := r.SetFiles(certFile2, keyFile2); err != nil {
		t.Fatal(err)
	}
	serves(t, r, "other", "after SetFiles")
}

// TestHandshakeSeesRotation runs real TLS handshakes while the files rotate underneath, as the FTP server does:
// every handshake gets a whole, valid certificate (never a mix) and the last one gets the newest.
func TestHandshakeSeesRotation(t *testing.T) {
	dir := t.TempDir()
	pairs := []pemPair{newPair(t, "v0"), newPair(t, "v1"), newPair(t, "v2")}
	certFile, keyFile := writePair(t, dir, pairs[0])
	r, err := NewReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	r.Log = slog.New(&errorCounter{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	serverConfig := &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12}
	var served sync.WaitGroup
	served.Add(1)
	go func() {
		defer served.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			tc := tls.Server(conn, serverConfig)
			_ = tc.Handshake() // the client checks the result
			_ = tc.Close()
		}
	}()
	handshake := func() string {
		t.Helper()
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reads the name only
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := handshake(); got != "v0" {
		t.Fatalf("first handshake got %q, want v0", got)
	}
	rotated := make(chan error, 1)
	go func() {
		var err error
		for _, p := range pairs[1:] {
			for _, f := range []struct {
				name string
				data []byte
			}{{certFile, p.cert}, {keyFile, p.key}} {
				if err == nil {
					err = os.WriteFile(f.name+".new", f.data, 0o600)
				}
				if err == nil {
					err = os.Rename(f.name+".new", f.name)
				}
			}
		}
		rotated <- err
	}()
	for range 20 {
		if got := handshake(); got != "v0" && got != "v1" && got != "v2" {
			t.Fatalf("handshake got %q during rotation", got)
		}
	}
	if err := <-rotated; err != nil {
		t.Fatal(err)
	}
	if got := handshake(); got != "v2" {
		t.Fatalf("handshake after rotation got %q, want v2", got)
	}
	_ = ln.Close()
	served.Wait()
}
