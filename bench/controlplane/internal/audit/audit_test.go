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

package audit

import (
	"slices"
	"strings"
	"testing"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/yaml"
)

// Lines as kube-apiserver 1.37 writes them with the Metadata level (annotations shortened).
const log = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/bench/secrets/ep-0001-config","verb":"update","user":{"username":"pier-bench-manager","groups":["system:authenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"manager/v0.0.0","objectRef":{"resource":"secrets","namespace":"bench","name":"ep-0001-config","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-03T10:00:00.123456Z","stageTimestamp":"2026-12-03T10:00:00.125000Z","annotations":{"authorization.k8s.io/decision":"allow"}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a2","stage":"ResponseComplete","requestURI":"/apis/transfer.pier.dev/v1alpha1/namespaces/bench/transferusers/ep-0001-u01/status","verb":"update","user":{"username":"pier-bench-manager","groups":["system:authenticated"]},"objectRef":{"resource":"transferusers","namespace":"bench","name":"ep-0001-u01","apiGroup":"transfer.pier.dev","apiVersion":"v1alpha1","subresource":"status"},"responseStatus":{"metadata":{},"status":"Failure","reason":"Conflict","code":409},"requestReceivedTimestamp":"2026-12-03T10:00:01.000000Z","stageTimestamp":"2026-12-03T10:00:01.002000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a3","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/bench/secrets","verb":"create","user":{"username":"admin","groups":["system:masters"]},"objectRef":{"resource":"secrets","namespace":"bench","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestReceivedTimestamp":"2026-12-03T10:00:02.000000Z","stageTimestamp":"2026-12-03T10:00:02.001000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a4","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/bench/secrets?watch=true","verb":"watch","user":{"username":"pier-bench-manager"},"objectRef":{"resource":"secrets","namespace":"bench","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-03T10:00:03.000000Z","stageTimestamp":"2026-12-03T10:05:03.000000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a5","stage":"ResponseComplete","requestURI":"/apis/events.k8s.io/v1/namespaces/bench/events","verb":"create","user":{"username":"pier-bench-manager"},"objectRef":{"resource":"events","namespace":"bench","apiGroup":"events.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestReceivedTimestamp":"2026-12-03T10:00:04.000000Z","stageTimestamp":"2026-12-03T10:00:04.001000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a6","stage":"Panic","requestURI":"/api/v1/namespaces/bench/secrets/x","verb":"update","user":{"username":"pier-bench-manager"},"requestReceivedTimestamp":"2026-12-03T10:00:05.000000Z","stageTimestamp":"2026-12-03T10:00:05.000000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a7","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/bench/secrets/ep-0001-config","verb":"update","user":{"username":"pier-bench-manager"},"objectRef":{"resource":"secrets","namespace":"bench","name":"ep-0001-config","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-03T10:00:06.000000Z","stageTimestamp":"2026-12-03T10:00:06.001000Z"}
`

func TestRead(t *testing.T) {
	writes, err := Read(strings.NewReader(log), "pier-bench-manager")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, 0, len(writes))
	for _, w := range writes {
		got = append(got, w.What())
	}
	// Not the admin's create, not the watch, not the Panic stage's second record of a request.
	want := []string{
		"update secrets bench/ep-0001-config",
		"update transferusers/status bench/ep-0001-u01 (409)",
		"create events bench",
		"update secrets bench/ep-0001-config",
	}
	if !slices.Equal(got, want) {
		t.Errorf("writes:\n%q\nwant\n%q", got, want)
	}
	if at := time.Date(2026, 12, 3, 10, 0, 0, 123456000, time.UTC); !writes[0].Time.Equal(at) {
		t.Errorf("the first write's time is %v, want %v (requestReceivedTimestamp)", writes[0].Time, at)
	}
	if _, err := Read(strings.NewReader(log+"{not json\n"), "pier-bench-manager"); err == nil {
		t.Error("a broken line gave no error")
	}
	if none, err := ReadFile(t.TempDir()+"/none.log", "x"); err != nil || none != nil {
		t.Errorf("a log not written yet: %v, %v; want no writes", none, err)
	}
}

func TestBetweenAndSummarize(t *testing.T) {
	writes, err := Read(strings.NewReader(log), "pier-bench-manager")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 3, 10, 0, 1, 0, time.UTC)
	window := Between(writes, from, from.Add(5*time.Second))
	if len(window) != 2 || window[0].Code != 409 {
		t.Errorf("Between = %+v; want the two writes from 10:00:01 (inclusive) to 10:00:06 (exclusive)", window)
	}
	got := Summarize(writes, Write.What)
	want := []Count{
		{"update secrets bench/ep-0001-config", 2},
		{"create events bench", 1},
		{"update transferusers/status bench/ep-0001-u01 (409)", 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Summarize by What = %+v, want %+v", got, want)
	}
	kinds := Summarize(writes, ByKind)
	if len(kinds) != 3 || kinds[0] != (Count{"update secrets", 2}) {
		t.Errorf("Summarize by kind = %+v", kinds)
	}
}

// The policy logs the user's writes and nothing else, without request or response bodies.
func TestPolicy(t *testing.T) {
	data, err := Policy("pier-bench-manager")
	if err != nil {
		t.Fatal(err)
	}
	var p auditv1.Policy
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if p.APIVersion != "audit.k8s.io/v1" || p.Kind != "Policy" || len(p.Rules) != 2 {
		t.Fatalf("policy:\n%s", data)
	}
	first, last := p.Rules[0], p.Rules[1]
	if first.Level != auditv1.LevelMetadata || !slices.Equal(first.Users, []string{"pier-bench-manager"}) ||
		!slices.Equal(first.Verbs, WriteVerbs) || last.Level != auditv1.LevelNone || len(last.Users)+len(last.Verbs) != 0 {
		t.Errorf("rules: %+v", p.Rules)
	}
}
