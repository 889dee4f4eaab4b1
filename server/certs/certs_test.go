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
	certFile, keyFile := writePair(t, dir, newPair(t, "first"))
	r, err := NewReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	r.Log = slog.New(&errorCounter{})
	if got := commonName(t, r); got != "first" {
		t.Fatalf("certificate %q, want first", got)
	}
	writePair(t, dir, newPair(t, "second"))
	if got := commonName(t, r); got != "second" {
		t.Fatalf("after replacing the files: certificate %q, want second", got)
	}
}

// TestReloadAfterInPlaceRewrite covers tools that truncate and rewrite the file, keeping its inode.
func TestReloadAfterInPlaceRewrite(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, newPair(t, "first"))
	r, err := NewReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
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
	if got := commonName(t, r); got != "second" {
		t.Fatalf("after rewriting the files in place: certificate %q, want second", got)
	}
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
	if got := commonName(t, r); got != "first" {
		t.Fatalf("certificate %q, want first", got)
	}
	publish("..2026_02_01_00_00_00.2", newPair(t, "second"))
	if got := commonName(t, r); got != "second" {
		t.Fatalf("after the ..data swap: certificate %q, want second", got)
	}
}

// TestBadPairKeepsLastGood: a certificate written before its key, garbage, and missing files all keep the last
// good certificate; each bad version is logged once, and a later good pair is picked up.
func TestBadPairKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, newPair(t, "good"))
	r, err := NewReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	counter := &errorCounter{}
	r.Log = slog.New(counter)

	// Half an update: the new certificate with the old key.
	testcreds.WriteFileAtomic(t, certFile, newPair(t, "half").cert)
	for range 3 {
		if got := commonName(t, r); got != "good" {
			t.Fatalf("with a mismatched key: certificate %q, want the last good one", got)
		}
	}
	if n := counter.count(); n != 1 {
		t.Fatalf("%d errors logged for one bad version of the files, want 1", n)
	}

	testcreds.WriteFileAtomic(t, certFile, []byte("not a certificate"))
	if got := commonName(t, r); got != "good" {
		t.Fatalf("with garbage: certificate %q, want the last good one", got)
	}
	if n := counter.count(); n != 2 {
		t.Fatalf("%d errors logged after a second bad version, want 2", n)
	}

	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := commonName(t, r); got != "good" {
			t.Fatalf("with the key missing: certificate %q, want the last good one", got)
		}
	}
	if n := counter.count(); n != 3 {
		t.Fatalf("%d errors logged after the key went missing, want 3", n)
	}

	writePair(t, dir, newPair(t, "fixed"))
	if got := commonName(t, r); got != "fixed" {
		t.Fatalf("after a good pair was written: certificate %q, want fixed", got)
	}
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
	certFile, keyFile := writePair(t, dir, newPair(t, "first"))
	r, err := NewReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetFiles(filepath.Join(dir, "nope.crt"), keyFile); err == nil {
		t.Fatal("SetFiles accepted a missing certificate file")
	}
	if got := commonName(t, r); got != "first" {
		t.Fatalf("certificate %q after a failed SetFiles, want first", got)
	}
	other := t.TempDir()
	certFile2, keyFile2 := writePair(t, other, newPair(t, "other"))
	if err := r.SetFiles(certFile2, keyFile2); err != nil {
		t.Fatal(err)
	}
	if got := commonName(t, r); got != "other" {
		t.Fatalf("certificate %q after SetFiles, want other", got)
	}
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
