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

package main

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/bench/controlplane/internal/audit"
	"github.com/pier-dev/pier/bench/controlplane/internal/metrics"
	"github.com/pier-dev/pier/bench/controlplane/internal/progress"
	"github.com/pier-dev/pier/bench/internal/report"
)

// Usernames must pass the CRD's validation: 3-100 of [A-Za-z0-9_.@-], not starting with - . @.
var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]{2,99}$`)

func TestUsersAndTheirObjects(t *testing.T) {
	pool := []hashed{{"pw0", "$2a$10$zero"}, {"pw1", "$2a$10$one"}}
	for _, kind := range []passwordKind{prehashed, generated, plaintext} {
		users, err := newUsers(kind, "ep-0003", 12, pool)
		if err != nil {
			t.Fatal(err)
		}
		names, usernames := map[string]bool{}, map[string]bool{}
		for i, u := range users {
			if names[u.name] || usernames[u.username] || !usernameRE.MatchString(u.username) {
				t.Fatalf("%s: user %d is %+v: a name or username twice, or an invalid username", kind, i, u)
			}
			names[u.name], usernames[u.username] = true, true
			checkObjects(t, u, pool[i%2].hash)
		}
		if users[0].name != "ep-0003-u00" || users[11].username != "user11" {
			t.Errorf("%s: names %s, %s", kind, users[0].name, users[11].username)
		}
	}
	a, _ := newUsers(plaintext, "e", 2, nil)
	if a[0].password == a[1].password || len(a[0].password) < 20 {
		t.Errorf("plaintext passwords %q and %q: want a random one each", a[0].password, a[1].password)
	}
}

// checkObjects checks what is applied for u: the user, after the Secret that holds its password (or pre-hashed,
// hash), or alone when the operator generates its password.
func checkObjects(t *testing.T, u userSpec, hash string) {
	t.Helper()
	objs := u.objects()
	tu := objs[len(objs)-1].(*transferv1alpha1.TransferUser)
	if tu.Spec.EndpointRef.Name != u.endpoint || tu.Spec.Username != u.username || tu.Namespace != namespace {
		t.Errorf("%s: %+v", u.kind, tu.Spec)
	}
	if u.kind == generated {
		if len(objs) != 1 || !tu.Spec.GeneratePassword || tu.Spec.Password != nil {
			t.Errorf("generated: %d objects, spec %+v", len(objs), tu.Spec)
		}
		return
	}
	secret := objs[0].(*corev1.Secret)
	want := u.password
	if u.kind == prehashed {
		want = hash
	}
	if len(objs) != 2 || tu.Spec.Password.SecretRef.Name != secret.Name || secret.StringData[passwordKey] != want || want == "" {
		t.Errorf("%s: the Secret holds %q, want %q; the user names %+v", u.kind, secret.StringData, want, tu.Spec.Password)
	}
}

func TestRequiredChildrenAndConfigSecrets(t *testing.T) {
	got := requiredChildren("ep-0001")
	want := []progress.Child{{Kind: "Deployment", Name: "ep-0001"}, {Kind: "Service", Name: "ep-0001"}, {Kind: "ServiceAccount", Name: "ep-0001-server"},
		{Kind: "Role", Name: "ep-0001-server"}, {Kind: "RoleBinding", Name: "ep-0001-server"}, {Kind: "Secret", Name: "ep-0001-config"}, {Kind: "Secret", Name: "ep-0001-host-keys"}}
	if !slices.Equal(got, want) {
		t.Errorf("requiredChildren = %v, want %v", got, want)
	}
	owned := func(name, owner, kind string) *corev1.Secret {
		yes := true
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{
			{APIVersion: transferv1alpha1.GroupVersion.String(), Kind: kind, Name: owner, Controller: &yes}}}}
	}
	for _, tc := range []struct {
		s    *corev1.Secret
		want bool
	}{
		{owned("ep-config", "ep", "TransferEndpoint"), true},
		{owned("ep-host-keys", "ep", "TransferEndpoint"), false},
		{owned("ep-u1-config", "ep-u1", "TransferUser"), false},
		{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ep-config"}}, false},
	} {
		if got := isConfigSecret(tc.s); got != tc.want {
			t.Errorf("isConfigSecret(%s owned by %v) = %t", tc.s.Name, tc.s.OwnerReferences, got)
		}
	}
	// The watches keep the data of config Secrets only.
	pw := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "u-pw"}, Data: map[string][]byte{"password": []byte("x")}}
	cfg := owned("ep-config", "ep", "TransferEndpoint")
	cfg.Data = map[string][]byte{"config.yaml": []byte("users: []")}
	for _, s := range []*corev1.Secret{pw, cfg} {
		if _, err := keepConfigData(s); err != nil {
			t.Fatal(err)
		}
	}
	if pw.Data != nil || cfg.Data == nil {
		t.Errorf("after the transform: password Secret %v, config Secret %v", pw.Data, cfg.Data)
	}
}

func TestWorkersStarted(t *testing.T) {
	m := &manager{logFile: filepath.Join(t.TempDir(), "manager.log")}
	log := `{"level":"info","ts":"2026-12-03T10:00:00Z","msg":"Starting Controller","controller":"transferuser"}
{"level":"info","ts":"2026-12-03T10:00:01Z","msg":"Starting workers","controller":"transferendpoint","controllerGroup":"transfer.pier.dev","controllerKind":"TransferEndpoint","worker count":4}
`
	if err := os.WriteFile(m.logFile, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	names := []string{"transferendpoint", "transferuser"}
	if m.workersStarted(names) {
		t.Error("started, though transferuser has not started its workers")
	}
	log += `{"level":"info","ts":"2026-12-03T10:00:01Z","msg":"Starting workers","controller":"transferuser","worker count":4}` + "\n"
	if err := os.WriteFile(m.logFile, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	if !m.workersStarted(names) {
		t.Error("not started, though both controllers logged it")
	}
	if tail := m.logTail(1); !strings.Contains(tail, `"controller":"transferuser","worker count":4`) || strings.Count(tail, "\n") != 0 {
		t.Errorf("logTail(1) = %q", tail)
	}
}

func TestSettled(t *testing.T) {
	snap := func(depth, active, total float64) metrics.Snapshot {
		return metrics.Snapshot{Controllers: map[string]*metrics.Controller{
			"transferuser": {Reconciles: map[string]float64{"success": total}, Depth: depth, Active: active}}}
	}
	want := map[string]int{"transferuser": 1000}
	for _, tc := range []struct {
		s  metrics.Snapshot
		ok bool
	}{
		{snap(0, 0, 1000), true},
		{snap(0, 0, 999), false}, // not every user seen yet
		{snap(3, 0, 1200), false},
		{snap(0, 1, 1200), false},
		{metrics.Snapshot{}, false},
	} {
		if err := settled(tc.s, want); (err == nil) != tc.ok {
			t.Errorf("settled(%+v) = %v, want settled %t", tc.s.Controllers["transferuser"], err, tc.ok)
		}
	}
}

func TestLoadRows(t *testing.T) {
	o, err := parseOptions([]string{"-endpoints", "100"})
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{o: o, hashCPU: 60 * time.Millisecond}
	tb := newTable()
	hist := metrics.Histogram{Bounds: []float64{0.1, 1}, Counts: []float64{5, 10}, Count: 10, Sum: 3}
	start := time.Now()
	res := &loadResult{kind: plaintext, span: span{finished: false, load: window{start, start.Add(300 * time.Second)},
		cpu:    500 * time.Second,
		counts: progress.Counts{Endpoints: 100, EndpointsDone: 40, Users: 1000, UsersServed: 450, UsersReady: 400},
		reconciles: metrics.Snapshot{Controllers: map[string]*metrics.Controller{
			"transferuser": {Reconciles: map[string]float64{"success": 8, "error": 2}, Time: hist}},
			PasswordOps: map[string]float64{"hash": 1400, "compare": 9000}}},
		writesQuiet: []audit.Write{{Verb: "update", Resource: "transferusers/status", Namespace: "bench", Name: "a"},
			{Verb: "update", Resource: "transferusers/status", Namespace: "bench", Name: "a"},
			{Verb: "update", Resource: "secrets", Namespace: "bench", Name: "ep-config"}},
		probeLoad: probe{note: "not in its endpoint's config 5m0s after it was applied"},
		probeIdle: probe{served: true, latency: 1500 * time.Millisecond},
		restart:   restartResult{why: "not measured: the load was not reconciled before the timeout"},
	}
	tb.addLoad(b, report.Pier, res)
	rows := map[string]*report.Row{}
	for _, r := range tb.rows {
		rows[strings.TrimPrefix(r.Name, "100 endpoints / 1,000 users, plaintext passwords: ")] = r
	}
	checkLoadRows(t, rows)
	// A second manager's figures go into the same rows.
	wall := rows["create to all reconciled"]
	res.finished, res.load.to = true, start.Add(200*time.Second)
	tb.addLoad(b, report.Baseline, res)
	if got := wall.Samples[report.Baseline]; len(got) != 1 || got[0] != 200 || len(tb.rows) != len(rows) {
		t.Errorf("baseline: %v, %d rows (was %d)", got, len(tb.rows), len(rows))
	}
	wantTarget := 1.2 * 1000 * 0.06 / float64(runtime.NumCPU())
	if got := wall.Samples[target]; len(got) != 1 || math.Abs(got[0]-wantTarget) > 1e-9 {
		t.Errorf("plaintext time target %v, want %v", got, wantTarget)
	}
}

// checkLoadRows checks the rows of TestLoadRows's unfinished plaintext load, by name without the scenario.
func checkLoadRows(t *testing.T, rows map[string]*report.Row) {
	t.Helper()
	wall := rows["create to all reconciled"]
	if wall == nil || len(wall.Samples[report.Pier]) != 0 || !strings.Contains(wall.Note, "did not finish in 10m0s: 40 of 100 endpoints") {
		t.Fatalf("an unfinished load's time: %+v", wall)
	}
	// Plaintext: 1.2 x one hash per user, over the cores; per user 1.2 x one hash.
	if got := rows["manager CPU per user"].Samples[target]; len(got) != 1 || math.Abs(got[0]-72) > 1e-9 {
		t.Errorf("per-user target %v, want 72 ms", got)
	}
	if got := rows["manager CPU"].Samples[report.Pier]; len(got) != 1 || got[0] != 500 {
		t.Errorf("CPU until the timeout = %v", got)
	}
	quiet := rows["API writes by the manager in the 1m0s after"]
	if quiet == nil || quiet.Samples[report.Pier][0] != 3 || quiet.Samples[target][0] != 0 ||
		!strings.Contains(quiet.Note, "2 x update transferusers/status, 1 x update secrets") ||
		!strings.Contains(quiet.Note, "update transferusers/status bench/a (2)") {
		t.Errorf("quiet writes row: %+v", quiet)
	}
	checkMetricRows(t, rows)
	if r := rows["manager restart: start to settled"]; r == nil || len(r.Samples[report.Pier]) != 0 || !strings.Contains(r.Note, "not measured") {
		t.Errorf("restart after an unfinished load: %+v", r)
	}
	if r := rows["new user to config, applied during the load"]; len(r.Samples[report.Pier]) != 0 || !strings.Contains(r.Note, "not in its endpoint's config") {
		t.Errorf("unserved probe: %+v", r)
	}
	if r := rows["new user to config, applied after the quiet window"]; r.Samples[report.Pier][0] != 1.5 || r.Samples[target][0] != 2 {
		t.Errorf("idle probe: %+v", r)
	}
}

// checkMetricRows checks the rows that come from the manager's metrics in checkLoadRows's load.
func checkMetricRows(t *testing.T, rows map[string]*report.Row) {
	t.Helper()
	if r := rows["reconciles, transferuser"]; r.Samples[report.Pier][0] != 10 || !strings.Contains(r.Note, "2 ended in an error") {
		t.Errorf("reconciles row: %+v", r)
	}
	// The plaintext users and the probe applied during the load, one hash each; no comparison.
	if r := rows["bcrypt hashes by the manager"]; r.Samples[report.Pier][0] != 1400 || r.Samples[target][0] != 1001 {
		t.Errorf("hashes row: %+v", r)
	}
	if r := rows["bcrypt comparisons by the manager"]; r.Samples[report.Pier][0] != 9000 || r.Samples[target][0] != 0 {
		t.Errorf("comparisons row: %+v", r)
	}
	if r := rows["reconcile p50, transferuser"]; r.Samples[report.Pier][0] != 100 {
		t.Errorf("p50 row: %+v", r)
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{7: "7", 100: "100", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

// The page the bench writes to has its markers, so that make bench-controlplane can replace its table, and they
// are not the data-plane harness's.
func TestPerformancePageHasMarkers(t *testing.T) {
	page, err := os.ReadFile("../../docs/performance.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := report.ReplaceBetweenMarkers(string(page), beginMarker, endMarker, "x"); err != nil {
		t.Errorf("docs/performance.md: %v", err)
	}
	if strings.Contains(beginMarker, "<!-- bench:begin") {
		t.Error("the control-plane markers are the data plane's")
	}
}

// A backlog writes many objects once each: the note then names the kinds alone; objects written again and again
// (a loop) are named.
func TestWritesNote(t *testing.T) {
	backlog := []audit.Write{{Verb: "create", Resource: "deployments", Namespace: "bench", Name: "ep-1"},
		{Verb: "create", Resource: "deployments", Namespace: "bench", Name: "ep-2"}}
	if got := writesNote(backlog); got != "2 x create deployments" {
		t.Errorf("writesNote(backlog) = %q", got)
	}
	loop := slices.Concat(backlog, []audit.Write{backlog[0], backlog[0]})
	if got := writesNote(loop); got != "4 x create deployments; most written: create deployments bench/ep-1 (3)" {
		t.Errorf("writesNote(loop) = %q", got)
	}
	if got := writesNote(nil); got != "" {
		t.Errorf("writesNote(nil) = %q", got)
	}
	if got := joinNotes("", "a", "", "b"); got != "a; b" {
		t.Errorf("joinNotes = %q", got)
	}
}

// The section says how the run ran, on which managers, on how busy a machine, and against which targets.
func TestSection(t *testing.T) {
	o, err := parseOptions([]string{"-endpoints", "100", "-baseline", "main"})
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{o: o, hashCPU: 61 * time.Millisecond, table: newTable(), loads: []float64{7.1, 2.5, 4},
		builds: []*build{{label: report.Pier, desc: "i14c at abc"}, {label: report.Baseline, desc: "main at def"}}}
	b.table.add("x: create to all reconciled", "s", 6, report.Pier, 9)
	b.table.add("manager restart: start to settled", "s", none, report.Pier, 3)
	got := b.section("a machine", 90*time.Second)
	for _, want := range []string{
		"(1m30s in all): 100 endpoints (SFTP only) with 10 users each, 1,000 users on one endpoint",
		"Manager `pier`: i14c at abc.", "Manager `pier-base`: main at def.",
		"Machine: a machine. One bcrypt hash at cost 10 takes 61 ms of CPU here. Load average during the run (1 minute, sampled every 30 s): 2.5 to 7.1.",
		"Targets are issue 14's, their times scaled linearly to these sizes",
		"#### x\n\n| cell | unit | pier | target | pier vs target |",
		"| create to all reconciled | s | 9 | 6 | **0.67x** (target) |",
		"#### manager restart\n\n",
		"| start to settled | s | 3 | - | n/a |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the section lacks %q:\n%s", want, got)
		}
	}
}
