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
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/testsupport/poll"
	"github.com/pier-dev/pier/internal/testsupport/syncbuffer"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
)

// secretVolume imitates a mounted Secret: files are symlinks through ..data, and an update writes a new
// timestamped directory and swaps the ..data symlink atomically, as the kubelet does.
type secretVolume struct {
	dir string
	gen int
}

func (v *secretVolume) write(t *testing.T, files map[string]string) {
	t.Helper()
	v.gen++
	data := filepath.Join(v.dir, fmt.Sprintf("..2026_11_24_00_00_%02d", v.gen))
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(data, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(v.dir, name)
		if _, err := os.Lstat(link); err != nil {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(data), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(v.dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

type harness struct {
	cfg      string // the config template with %USERS% and %HOSTKEYS% to fill
	hostKeys []string
	logs     *syncbuffer.Buffer // the server's log, written by its goroutines and read by the test
	volume   *secretVolume
	sftpAddr string
	health   string
	server   *Server
	cancel   context.CancelFunc
	done     chan error
}

// userYAML is one user's entry in the config file. The same password always gets the same hash, as the operator
// keeps the hash of an unchanged password: a new hash may mean a new password, and ends the sessions that
// logged in with the old one.
func userYAML(t *testing.T, name, pw string, extra string) string {
	t.Helper()
	h, _ := hashes.LoadOrStore(pw, testcreds.Hash(t, pw))
	return fmt.Sprintf("- username: %s\n  passwordHash: %q\n%s", name, h, extra)
}

var hashes sync.Map

func start(t *testing.T, users string) *harness {
	t.Helper()
	return startWith(t, users, nil)
}

// reloadInterval is how often the harness's server re-reads its file without a change notification.
var reloadInterval = 20 * time.Millisecond

// startWith is start with more configuration sources: watch, when not nil, is started in its own goroutine
// alongside WatchConfig and before Run, as pier-server serve does.
func startWith(t *testing.T, users string, watch func(context.Context, *Server)) *harness {
	t.Helper()
	hostKey := filepath.Join(t.TempDir(), "host_key")
	testcreds.WriteHostKey(t, hostKey)
	return startWithHostKeys(t, users, []string{hostKey}, watch)
}

// startWithHostKeys is startWith with the host key files given, which must exist.
func startWithHostKeys(t *testing.T, users string, hostKeys []string, watch func(context.Context, *Server)) *harness {
	t.Helper()
	dir := t.TempDir()
	storage := filepath.Join(dir, "storage")
	if err := os.Mkdir(storage, 0o750); err != nil {
		t.Fatal(err)
	}
	h := &harness{
		hostKeys: hostKeys,
		volume:   &secretVolume{dir: filepath.Join(dir, "config")},
		sftpAddr: fmt.Sprintf("127.0.0.1:%d", testcreds.FreePort(t)),
		health:   fmt.Sprintf("127.0.0.1:%d", testcreds.FreePort(t)),
		logs:     &syncbuffer.Buffer{},
	}
	if err := os.Mkdir(h.volume.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.cfg = fmt.Sprintf(`apiVersion: server.pier.dev/v1alpha1
kind: ServerConfig
sftp:
  address: %q
  hostKeyFiles: [%%HOSTKEYS%%]
health:
  address: %q
storage:
  root: %q
limits:
  shutdownGracePeriod: 2s
users:
%%USERS%%`, h.sftpAddr, h.health, storage)
	h.volume.write(t, map[string]string{"config.yaml": h.config(users)})

	file := filepath.Join(h.volume.dir, "config.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := serverconfig.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	h.server, err = New(cfg, slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	ready := make(chan struct{})
	go h.server.WatchConfig(ctx, file, data, reloadInterval)
	if watch != nil {
		go watch(ctx, h.server)
	}
	go func() { h.done <- h.server.Run(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-h.done:
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		h.cancel()
		if err := <-h.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return h
}

// config is the whole configuration file with users.
func (h *harness) config(users string) string {
	quoted := make([]string, len(h.hostKeys))
	for i, file := range h.hostKeys {
		quoted[i] = strconv.Quote(file)
	}
	return strings.NewReplacer("%USERS%", users, "%HOSTKEYS%", strings.Join(quoted, ", ")).Replace(h.cfg)
}

func (h *harness) setUsers(t *testing.T, users string) {
	t.Helper()
	h.volume.write(t, map[string]string{"config.yaml": h.config(users)})
}

func (h *harness) login(user, pw string) (*ssh.Client, error) {
	return ssh.Dial("tcp", h.sftpAddr, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.Password(pw)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // the test checks logins, not host keys
		Timeout:         5 * time.Second,
	})
}

// eventually retries check until it passes or a generous deadline passes; it waits for the reload loop, it
// does not measure it.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	poll.Until(t, what, 20*time.Second, check)
}

// canLogIn reports nil when user logs in with pw over SFTP; the connection is closed again.
func (h *harness) canLogIn(user, pw string) error {
	c, err := h.login(user, pw)
	if err == nil {
		_ = c.Close()
	}
	return err
}

func (h *harness) get(path string) (int, string, error) {
	resp, err := http.Get("http://" + h.health + path)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
