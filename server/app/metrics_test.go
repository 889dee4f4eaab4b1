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
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// scrape reads /metrics as Prometheus would.
func (h *harness) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, err := h.get("/metrics")
	if err != nil || code != 200 {
		t.Fatalf("GET /metrics = %d, %v", code, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return families
}

// series is the one series of name whose labels include want, or nil.
func series(families map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	for _, m := range families[name].GetMetric() {
		found := 0
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				found++
			}
		}
		if found == len(want) {
			return m
		}
	}
	return nil
}

// gaugeValue is the value of a gauge without labels; it fails the test when the gauge is missing.
func gaugeValue(t *testing.T, families map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	m := series(families, name, nil)
	if m == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	return m.GetGauge().GetValue()
}

// The reload gauges say whether the configuration and the host keys in use are the ones on disk: 1 from the
// start, 0 while a change is refused (the last good one still serving), 1 again with a later timestamp once a
// good one arrives.
func TestReloadGauges(t *testing.T) {
	vol := newHostKeyVolume(t)
	pemA, _ := newHostKey(t)
	vol.set(t, map[string]string{"key": pemA})
	h := startWithHostKeys(t, userYAML(t, "alice", "alice-pw", ""), []string{vol.path("key")}, nil)
	h.server.SetBuild("9.9.9", "feedbeef")

	m := h.scrape(t)
	if series(m, "pier_build_info", map[string]string{"version": "9.9.9", "revision": "feedbeef"}) == nil {
		t.Errorf("/metrics has no pier_build_info for the build set: %v", m["pier_build_info"])
	}
	for _, name := range []string{"pier_config_last_reload_successful", "pier_host_keys_last_reload_successful"} {
		if got := gaugeValue(t, m, name); got != 1 {
			t.Errorf("%s = %v at start, want 1", name, got)
		}
	}
	configAt := gaugeValue(t, m, "pier_config_last_reload_success_timestamp_seconds")
	keysAt := gaugeValue(t, m, "pier_host_keys_last_reload_success_timestamp_seconds")
	if configAt == 0 || keysAt == 0 {
		t.Fatalf("success timestamps %v (config) and %v (host keys) at start, want the start time", configAt, keysAt)
	}

	h.setUsers(t, "- username: x\n  passwordHash: plaintext-by-mistake\n")
	eventually(t, "the refused configuration shows", func() error {
		if got := gaugeValue(t, h.scrape(t), "pier_config_last_reload_successful"); got != 0 {
			return fmt.Errorf("pier_config_last_reload_successful = %v", got)
		}
		return nil
	})
	if got := gaugeValue(t, h.scrape(t), "pier_config_last_reload_success_timestamp_seconds"); got != configAt {
		t.Errorf("a refused configuration moved the success timestamp from %v to %v", configAt, got)
	}
	h.setUsers(t, userYAML(t, "alice", "alice-pw", "")+userYAML(t, "bob", "bob-pw", ""))
	eventually(t, "the good configuration shows", func() error {
		m := h.scrape(t)
		if got := gaugeValue(t, m, "pier_config_last_reload_successful"); got != 1 {
			return fmt.Errorf("pier_config_last_reload_successful = %v", got)
		}
		if got := gaugeValue(t, m, "pier_config_last_reload_success_timestamp_seconds"); got < configAt {
			return fmt.Errorf("success timestamp %v, before the start's %v", got, configAt)
		}
		return nil
	})

	// A host key file that no longer parses: noticed at the scrape, with no client connecting.
	vol.set(t, map[string]string{"key": "not a key\n"})
	m = h.scrape(t)
	if got := gaugeValue(t, m, "pier_host_keys_last_reload_successful"); got != 0 {
		t.Errorf("pier_host_keys_last_reload_successful = %v with a broken key file, want 0", got)
	}
	if got := gaugeValue(t, m, "pier_host_keys_last_reload_success_timestamp_seconds"); got != keysAt {
		t.Errorf("a broken key file moved the success timestamp from %v to %v", keysAt, got)
	}
	pemB, keyB := newHostKey(t)
	vol.set(t, map[string]string{"key": pemB})
	if got := gaugeValue(t, h.scrape(t), "pier_host_keys_last_reload_successful"); got != 1 {
		t.Errorf("pier_host_keys_last_reload_successful = %v after a good key arrived, want 1", got)
	}
	h.mustPresent(t, keyB, "after the new key arrived")
}

// An upload and a download with OpenSSH's sftp each land in the transfer histograms with their direction, their
// exact size and result ok; a listing does not.
func TestTransferHistograms(t *testing.T) {
	realclient.Require(t, "sftp", "sshpass")
	vol := newHostKeyVolume(t)
	pem, key := newHostKey(t)
	vol.set(t, map[string]string{"key": pem})
	h := startWithHostKeys(t, userYAML(t, "alice", "alice-pw", ""), []string{vol.path("key")}, nil)

	const size = 300_000
	dir := t.TempDir()
	payload := make([]byte, size)
	_, _ = rand.Read(payload)
	local := filepath.Join(dir, "payload.bin")
	if err := os.WriteFile(local, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(dir, "back.bin")
	batch := filepath.Join(dir, "batch")
	script := fmt.Sprintf("put %s up.bin\nls\nget up.bin %s\n", local, back)
	if err := os.WriteFile(batch, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(h.sftpAddr)
	cmd := exec.Command("sshpass", realclient.PasswordSFTPArgs(realclient.KnownHosts(t, h.sftpAddr, key),
		"-b", batch, "-P", port, "alice@"+host)...)
	cmd.Env = append(os.Environ(), "SSHPASS=alice-pw")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("OpenSSH sftp: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("the downloaded file differs from the upload (%v)", err)
	}

	// The server records a transfer when the client closes the file, which sftp does before it exits.
	m := h.scrape(t)
	for _, direction := range []string{"in", "out"} {
		labels := map[string]string{"protocol": "sftp", "direction": direction, "result": "ok"}
		sizes := series(m, "pier_transfer_size_bytes", labels)
		if sizes == nil {
			t.Fatalf("no pier_transfer_size_bytes%v", labels)
		}
		if hist := sizes.GetHistogram(); hist.GetSampleCount() != 1 || hist.GetSampleSum() != size {
			t.Errorf("pier_transfer_size_bytes%v: %d transfers, %v bytes; want 1 of %d", labels,
				hist.GetSampleCount(), hist.GetSampleSum(), size)
		}
		durations := series(m, "pier_transfer_duration_seconds", labels)
		if durations == nil || durations.GetHistogram().GetSampleCount() != 1 {
			t.Errorf("pier_transfer_duration_seconds%v: want one transfer, got %v", labels, durations)
		}
	}
	var transfers uint64
	for _, s := range m["pier_transfer_size_bytes"].GetMetric() {
		transfers += s.GetHistogram().GetSampleCount()
	}
	if transfers != 2 {
		t.Errorf("%d transfers in the histograms, want 2 (the listing is not a transfer)", transfers)
	}
}

// An FTPS server exports its certificate's expiry from the start, and curl, verifying the chain, logs in with it.
func TestCertificateExpiryMetric(t *testing.T) {
	realclient.Require(t, "curl")
	dir := t.TempDir()
	notAfter := time.Now().Add(20 * 24 * time.Hour).Truncate(time.Second)
	certPEM, keyPEM := testcreds.SelfSignedValidity(t, "pier-ftps", time.Now().Add(-time.Hour), notAfter)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	testcreds.WriteFileAtomic(t, keyFile, keyPEM)
	testcreds.WriteFileAtomic(t, certFile, certPEM)
	storage := filepath.Join(dir, "storage")
	if err := os.Mkdir(storage, 0o750); err != nil {
		t.Fatal(err)
	}
	ftpAddr := fmt.Sprintf("127.0.0.1:%d", testcreds.FreePort(t))
	health := fmt.Sprintf("127.0.0.1:%d", testcreds.FreePort(t))
	passive := testcreds.FreePort(t)
	cfg, err := serverconfig.Parse(fmt.Appendf(nil, `apiVersion: server.pier.dev/v1alpha1
kind: ServerConfig
ftp:
  address: %q
  tls: {mode: Required, certFile: %q, keyFile: %q}
  passive: {portRange: {start: %d, end: %d}}
health:
  address: %q
storage:
  root: %q
users:
%s`, ftpAddr, certFile, keyFile, passive, passive, health, storage, userYAML(t, "alice", "alice-pw", "")))
	if err != nil {
		t.Fatal(err)
	}
	server, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, ready := make(chan error, 1), make(chan struct{})
	go func() { done <- server.Run(ctx, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}

	h := &harness{health: health}
	m := h.scrape(t)
	expiry := series(m, "pier_tls_certificate_expiry_timestamp_seconds", map[string]string{"protocol": "ftp", "name": "localhost"})
	if expiry == nil || expiry.GetGauge().GetValue() != float64(notAfter.Unix()) {
		t.Errorf("pier_tls_certificate_expiry_timestamp_seconds = %v, want %d", expiry, notAfter.Unix())
	}
	if ok := series(m, "pier_tls_certificate_last_reload_successful", map[string]string{"protocol": "ftp"}); ok == nil || ok.GetGauge().GetValue() != 1 {
		t.Errorf("pier_tls_certificate_last_reload_successful = %v, want 1", ok)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("curl", "-sS", "--ssl-reqd", "--cacert", caFile, "-u", "alice:alice-pw", "--list-only",
		"ftp://"+ftpAddr+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("curl over explicit FTPS with the served certificate's chain: %v\n%s", err, out)
	}
}
