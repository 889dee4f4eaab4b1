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

package app

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// TestDocumentedExampleRuns starts a server from the complete example in docs/server-config.md, with only its
// absolute paths moved into a temporary folder, its ports made free and 127.0.0.0/8 added to the networks it
// admits, and checks that every listener answers and alice logs in with the documented password.
func TestDocumentedExampleRuns(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "internal", "serverconfig", "testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text := strings.NewReplacer("/etc/pier/", dir+"/etc/pier/", "root: /data", "root: "+dir+"/data",
		"\nallowedSourceRanges:\n", "\nallowedSourceRanges:\n  - 127.0.0.0/8\n").Replace(string(example))
	ports := map[string]int{}
	for _, name := range []string{":2222", ":2121", ":2990", ":8080"} {
		ports[name] = testcreds.FreePort(t)
		text = strings.Replace(text, `"`+name+`"`, fmt.Sprintf(`"127.0.0.1:%d"`, ports[name]), 1)
	}
	cfg, err := serverconfig.Parse([]byte(text))
	if err != nil {
		t.Fatalf("the documented example does not parse after moving its paths: %v", err)
	}
	writeExampleFiles(t, cfg)

	server, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("the documented example does not start: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- server.Run(ctx, func() { close(ready) }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}

	// SFTP speaks SSH and alice logs in; FTP greets; implicit FTPS completes a TLS handshake.
	banner := readLine(t, fmt.Sprintf("127.0.0.1:%d", ports[":2222"]), nil)
	if !strings.HasPrefix(banner, "SSH-2.0-pier") {
		t.Errorf("SFTP port greets with %q", banner)
	}
	client, err := ssh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[":2222"]), &ssh.ClientConfig{
		User: "alice", Auth: []ssh.AuthMethod{ssh.Password("change-me")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // the host keys were made by this test
		Timeout:         5 * time.Second,
	})
	if err != nil {
		t.Fatalf("alice cannot log in with the documented password: %v", err)
	}
	_ = client.Close()
	greeting := readLine(t, fmt.Sprintf("127.0.0.1:%d", ports[":2121"]), nil)
	if !strings.HasPrefix(greeting, "220") {
		t.Errorf("FTP port greets with %q", greeting)
	}
	readLine(t, fmt.Sprintf("127.0.0.1:%d", ports[":2990"]), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a self-made test certificate
	if code, _, err := (&harness{health: fmt.Sprintf("127.0.0.1:%d", ports[":8080"])}).get("/readyz"); err != nil || code != 200 {
		t.Errorf("/readyz = %d, %v", code, err)
	}
}

// readLine connects (over TLS when tlsConfig is set, failing the test if the handshake fails) and returns the
// first line the server sends, or "" if it closes first.
func readLine(t *testing.T, addr string, tlsConfig *tls.Config) string {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	defer func() { _ = raw.Close() }()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn := raw
	if tlsConfig != nil {
		tc := tls.Client(raw, tlsConfig)
		if err := tc.Handshake(); err != nil {
			t.Fatalf("TLS handshake with %s: %v", addr, err)
		}
		conn = tc
	}
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line)
}

// writeExampleFiles creates the host keys, certificate and storage the example names.
func writeExampleFiles(t *testing.T, cfg *serverconfig.Config) {
	t.Helper()
	for _, file := range append(cfg.SFTP.HostKeyFiles, cfg.FTP.TLS.CertFile, cfg.Storage.Root+"/x") {
		if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	for _, file := range cfg.SFTP.HostKeyFiles {
		keyType := credentials.ED25519
		switch {
		case strings.Contains(file, "rsa"):
			keyType = credentials.RSA
		case strings.Contains(file, "ecdsa"):
			keyType = credentials.ECDSA
		}
		testcreds.WriteHostKeyOfType(t, file, keyType)
	}
	certPEM, keyPEM := testcreds.SelfSigned(t, "ftp.example.com")
	testcreds.WriteFileAtomic(t, cfg.FTP.TLS.CertFile, certPEM)
	testcreds.WriteFileAtomic(t, cfg.FTP.TLS.KeyFile, keyPEM)
}
