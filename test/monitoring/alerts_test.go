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

package monitoring

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
)

// alertCase is one alert evaluated every minute over series, as Prometheus' rule manager does and as promtool's
// rule tests do (promtool itself takes about half an hour to build here, with every service discovery: too much
// for make test). fires lists, for some minutes, the label sets (namespace/endpoint/pod, whichever the alert
// has, joined by "/") of the alerts firing then; an empty list means none.
type alertCase struct {
	name   string
	alert  string
	series string // promqltest's load syntax, one series a line, one sample a minute
	fires  map[int][]string
}

var alertCases = []alertCase{
	{
		name:  "an endpoint not Ready for 10 minutes, whatever its reasons",
		alert: "PierEndpointNotReady",
		series: `pier_endpoint_ready{namespace="ns", endpoint="files", reason="Unavailable"} 0x5 _x20
pier_endpoint_ready{namespace="ns", endpoint="files", reason="TLSNotReady"} _x5 0x20
pier_endpoint_ready{namespace="ns", endpoint="ok", reason="Serving"} 1x25`,
		fires: map[int][]string{5: {}, 9: {}, 11: {"ns/files"}, 20: {"ns/files"}},
	},
	{
		name:   "an endpoint that comes back before 10 minutes",
		alert:  "PierEndpointNotReady",
		series: `pier_endpoint_ready{namespace="ns", endpoint="files", reason="Unavailable"} 0x8 1x10`,
		fires:  map[int][]string{12: {}},
	},
	{
		name:  "a certificate within 14 days of its expiry, for an hour",
		alert: "PierCertificateExpiringSoon",
		// Expiry timestamps in seconds: 13 days and 15 days after the start.
		series: `pier_tls_certificate_expiry_timestamp_seconds{namespace="ns", endpoint="soon", pod="p", name="a.example.com"} 1123200x70
pier_tls_certificate_expiry_timestamp_seconds{namespace="ns", endpoint="later", pod="q", name="b.example.com"} 1296000x70`,
		fires: map[int][]string{30: {}, 61: {"ns/soon"}},
	},
	{
		name:   "a certificate renewal that does not load",
		alert:  "PierCertificateReloadFailing",
		series: `pier_tls_certificate_last_reload_successful{namespace="ns", endpoint="files", pod="files-1", protocol="ftp"} 1x3 0x15`,
		fires:  map[int][]string{10: {}, 14: {"ns/files/files-1"}},
	},
	{
		name:   "host keys that do not load for 10 minutes",
		alert:  "PierHostKeysReloadFailing",
		series: `pier_host_keys_last_reload_successful{namespace="ns", endpoint="files", pod="files-1"} 0x5 1x2 0x15`,
		fires:  map[int][]string{6: {}, 12: {}, 18: {}, 20: {"ns/files/files-1"}},
	},
	{
		name:   "a refused configuration",
		alert:  "PierConfigReloadFailing",
		series: `pier_config_last_reload_successful{namespace="ns", endpoint="files", pod="files-1"} 1 0x10`,
		fires:  map[int][]string{4: {}, 7: {"ns/files/files-1"}},
	},
	{
		name:  "many failed logins, not a few",
		alert: "PierLoginFailureRateHigh",
		// 30 failures a minute (0.5/s) on sftp; 3 a minute (0.05/s) on ftp.
		series: `pier_logins_total{namespace="ns", endpoint="files", pod="files-1", protocol="sftp", method="password", result="failure"} 0+30x30
pier_logins_total{namespace="ns", endpoint="files", pod="files-1", protocol="ftp", method="password", result="failure"} 0+3x30
pier_logins_total{namespace="ns", endpoint="files", pod="files-1", protocol="sftp", method="password", result="success"} 0+100x30`,
		fires: map[int][]string{10: {}, 20: {"ns/files"}},
	},
	{
		name:   "banned addresses for 5 minutes",
		alert:  "PierAddressesBanned",
		series: `pier_banned_addresses{namespace="ns", endpoint="files", pod="files-1"} 0x3 2x10`,
		fires:  map[int][]string{3: {}, 6: {}, 9: {"ns/files"}},
	},
	{
		name:  "a server container restarting, not one restart",
		alert: "PierServerRestarting",
		series: `kube_pod_container_status_restarts_total{namespace="ns", pod="files-1", container="pier-server"} 0x5 1x10 2x10
kube_pod_container_status_restarts_total{namespace="ns", pod="other", container="app"} 0+1x30`,
		fires: map[int][]string{10: {}, 20: {"ns/files-1"}},
	},
	{
		name:   "the manager restarting",
		alert:  "PierManagerRestarting",
		series: `kube_pod_container_status_restarts_total{namespace="pier-system", pod="pier-manager-abc", container="manager"} 0+1x30`,
		fires:  map[int][]string{20: {"pier-system/pier-manager-abc"}},
	},
}

// Every alert fires when it should and not before, and its annotations expand without template errors.
func TestAlerts(t *testing.T) {
	byName := map[string]rule{}
	for _, g := range ruleGroups(t) {
		for _, r := range g.Rules {
			byName[r.Alert] = r
		}
	}
	tested := map[string]bool{}
	for _, c := range alertCases {
		t.Run(c.name, func(t *testing.T) {
			r, ok := byName[c.alert]
			if !ok {
				t.Fatalf("no alert %s", c.alert)
			}
			tested[c.alert] = true
			checkAlert(t, r, c)
		})
	}
	for name := range byName {
		if !tested[name] {
			t.Errorf("alert %s has no test case", name)
		}
	}
}

func checkAlert(t *testing.T, r rule, c alertCase) {
	t.Helper()
	expr, err := promQL.ParseExpr(r.Expr)
	if err != nil {
		t.Fatal(err)
	}
	var hold time.Duration
	if r.For != "" {
		d, err := model.ParseDuration(r.For)
		if err != nil {
			t.Fatal(err)
		}
		hold = time.Duration(d)
	}
	storage := promqltest.LoadedStorage(t, "load 1m\n"+indent(c.series))
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	alerting := rules.NewAlertingRule(r.Alert, expr, hold, 0, labels.FromMap(r.Labels), labels.FromMap(r.Annotations),
		labels.EmptyLabels(), "", true, quiet)
	query := rules.EngineQueryFunc(engine, storage)
	last := slices.Max(keys(c.fires))
	for minute := 0; minute <= last; minute++ {
		if _, err := alerting.Eval(context.Background(), 0, time.Unix(int64(minute)*60, 0), query, nil, 0); err != nil {
			t.Fatalf("minute %d: %v", minute, err)
		}
		want, ok := c.fires[minute]
		if !ok {
			continue
		}
		var got []string
		for _, a := range alerting.ActiveAlerts() {
			if a.State != rules.StateFiring {
				continue
			}
			got = append(got, identity(a.Labels))
			for name, text := range a.Annotations.Map() {
				if strings.Contains(text, "error expanding template") || strings.Contains(text, "<no value>") {
					t.Errorf("minute %d: annotation %s: %s", minute, name, text)
				}
			}
			if a.Labels.Get("severity") == "" {
				t.Errorf("minute %d: alert without a severity: %v", minute, a.Labels)
			}
		}
		slices.Sort(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("minute %d: firing %v, want %v", minute, got, want)
		}
	}
}

// identity joins the alert's namespace, endpoint and pod labels, those it has.
func identity(l labels.Labels) string {
	var parts []string
	for _, name := range []string{"namespace", "endpoint", "pod"} {
		if v := l.Get(name); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, "/")
}

func indent(lines string) string {
	return "  " + strings.ReplaceAll(lines, "\n", "\n  ")
}

func keys(m map[int][]string) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
