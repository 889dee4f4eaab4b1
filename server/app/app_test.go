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
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/serverconfig"
)

func TestReloadThroughSecretVolumeSwap(t *testing.T) {
	h := start(t, userYAML(t, "alice", "alice-pw", ""))
	alice, err := h.login("alice", "alice-pw")
	if err != nil {
		t.Fatalf("alice cannot log in: %v", err)
	}
	defer func() { _ = alice.Close() }()

	// A new user appears through the ..data swap and can log in without a restart.
	h.setUsers(t, userYAML(t, "alice", "alice-pw", "")+userYAML(t, "bob", "bob-pw", ""))
	eventually(t, "bob logs in after the reload", func() error { return h.canLogIn("bob", "bob-pw") })

	// An invalid file is refused: everyone keeps working with the last good configuration.
	h.setUsers(t, "- username: x\n  passwordHash: plaintext-by-mistake\n")
	eventually(t, "the refused reload is counted", func() error {
		_, body, err := h.get("/metrics")
		if err != nil {
			return err
		}
		if !strings.Contains(body, `pier_config_reloads_total{result="error",source="file"} 1`) {
			return errors.New("no error reload in /metrics yet")
		}
		return nil
	})
	if err := h.canLogIn("bob", "bob-pw"); err != nil {
		t.Fatalf("an invalid config file dropped a user: %v", err)
	}

	// alice is disabled: her open connection is closed and she cannot log in again.
	h.setUsers(t, userYAML(t, "alice", "alice-pw", "  disabled: true\n")+userYAML(t, "bob", "bob-pw", ""))
	eventually(t, "alice's open connection is closed", func() error {
		if _, _, err := alice.SendRequest("keepalive@openssh.com", true, nil); err == nil {
			return errors.New("still open")
		}
		return nil
	})
	if h.canLogIn("alice", "alice-pw") == nil {
		t.Fatal("a disabled user logged in")
	}
}

// TestReloadEndsRestrictedSessions: a reload that restricts a user ends that user's open session at once, with a
// log line and a metric saying why; other users' sessions stay.
func TestReloadEndsRestrictedSessions(t *testing.T) {
	h := start(t, userYAML(t, "alice", "alice-pw", "")+userYAML(t, "bob", "bob-pw", ""))
	alice, err := h.login("alice", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = alice.Close() }()
	bob, err := h.login("bob", "bob-pw")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bob.Close() }()

	h.setUsers(t, userYAML(t, "alice", "alice-pw", "  permissions: [ReadOnly]\n")+userYAML(t, "bob", "bob-pw", ""))
	eventually(t, "alice's open connection is closed", func() error {
		if _, _, err := alice.SendRequest("keepalive@openssh.com", true, nil); err == nil {
			return errors.New("still open")
		}
		return nil
	})
	if _, _, err := bob.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		t.Fatalf("an unchanged user's session was closed: %v", err)
	}
	_, body, err := h.get("/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if want := `pier_sessions_revoked_total{protocol="sftp",reason="permissions_reduced"} 1`; !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	if want := `username=alice protocol=sftp remote=127.0.0.1:`; !strings.Contains(h.logs.String(), want) {
		t.Errorf("no log line for the ended session:\n%s", h.logs.String())
	}
	if !strings.Contains(h.logs.String(), `reason=permissions_reduced detail="lost upload, overwrite, delete, rename, mkdir"`) {
		t.Errorf("the log does not say why the session ended:\n%s", h.logs.String())
	}
	if err := h.canLogIn("alice", "alice-pw"); err != nil {
		t.Fatalf("alice cannot log in again: %v", err)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	h := start(t, userYAML(t, "alice", "alice-pw", ""))
	for _, path := range []string{"/healthz", "/readyz"} {
		code, _, err := h.get(path)
		if err != nil || code != 200 {
			t.Fatalf("GET %s = %d, %v; want 200", path, code, err)
		}
	}
	if h.canLogIn("alice", "wrong") == nil {
		t.Fatal("a wrong password logged in")
	}
	_, body, err := h.get("/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`pier_logins_total{method="password",protocol="sftp",result="failure"} 1`,
		`pier_connections_total{protocol="sftp"} 1`,
		"pier_banned_addresses 0",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	h := start(t, userYAML(t, "alice", "alice-pw", ""))
	c, err := h.login("alice", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	h.cancel()
	// Run returns once the grace period (2s here) has passed and the open connection has been closed.
	if err := <-h.done; err != nil {
		t.Fatalf("Run returned %v after shutdown", err)
	}
	h.done <- nil // let the cleanup's stop return
	if _, err := h.login("alice", "alice-pw"); err == nil {
		t.Fatal("the server still accepts logins after shutdown")
	}
	if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err == nil {
		t.Fatal("an open connection survived the shutdown grace period")
	}
	if _, _, err := h.get("/healthz"); err == nil {
		t.Fatalf("the health endpoint still answers after shutdown on %s", h.health)
	}
}

// TestReloadThatDropsAndRestoresAProtocol: turning a protocol off needs a restart, but such a file must not
// break the running server, and turning it back on must work.
func TestReloadThatDropsAndRestoresAProtocol(t *testing.T) {
	h := start(t, userYAML(t, "alice", "alice-pw", ""))
	original := h.server.current.Load()
	noSFTP := *original
	noSFTP.SFTP = nil
	noSFTP.FTP = &serverconfig.FTP{Address: "127.0.0.1:1", TLS: serverconfig.TLS{Mode: serverconfig.TLSDisabled},
		Passive: serverconfig.Passive{PortRange: serverconfig.PortRange{Start: 40000, End: 40001}}}
	if err := h.server.Apply(&noSFTP); err != nil {
		t.Fatalf("applying a config without SFTP: %v", err)
	}
	if err := h.server.Apply(original); err != nil {
		t.Fatalf("applying SFTP again: %v", err)
	}
	if err := h.canLogIn("alice", "alice-pw"); err != nil {
		t.Fatalf("SFTP after the round trip: %v", err)
	}
}

// The profiles show what a process holds in memory, so they are served only when asked for.
func TestProfilingOnlyWhenEnabled(t *testing.T) {
	h := start(t, userYAML(t, "alice", "alice-pw", ""))
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"} {
		if code, _, err := h.get(path); err != nil || code != http.StatusNotFound {
			t.Errorf("by default, GET %s = %d, %v; want 404", path, code, err)
		}
	}

	h.server.EnableProfiling()
	enabled := httptest.NewServer(h.server.healthServer().Handler)
	defer enabled.Close()
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/goroutine?debug=1"} {
		resp, err := http.Get(enabled.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("with profiling, GET %s = %d with %d bytes; want 200 and a profile", path, resp.StatusCode, len(body))
		}
	}
	if code, _, err := h.get("/readyz"); err != nil || code != http.StatusOK {
		t.Errorf("GET /readyz = %d, %v; want 200", code, err)
	}
}

// A changed file is read when its folder reports the change, not only at the next tick: with an hour between
// ticks, a new user still logs in, while another file in the same folder (a log, say) is written all the time.
func TestReloadOnChangeNotification(t *testing.T) {
	reloadInterval = time.Hour
	defer func() { reloadInterval = 20 * time.Millisecond }()
	h := start(t, userYAML(t, "alice", "alice-pw", ""))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		neighbour := filepath.Join(h.volume.dir, "server.log")
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				_ = os.WriteFile(neighbour, []byte(time.Now().String()), 0o600)
			}
		}
	}()
	h.setUsers(t, userYAML(t, "alice", "alice-pw", "")+userYAML(t, "bob", "bob-pw", ""))
	// Waiting for the reload itself, not polling bob's login: failed logins would get 127.0.0.1 banned.
	eventually(t, "the change notification reloads the file", func() error {
		if logs := h.logs.String(); !strings.Contains(logs, `msg="configuration reloaded"`) {
			return fmt.Errorf("not reloaded yet; the server's log:\n%s", logs)
		}
		return nil
	})
	if err := h.canLogIn("bob", "bob-pw"); err != nil {
		t.Fatalf("bob cannot log in after the reload: %v", err)
	}
}
