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

// Package gitops tests what docs/gitops.md promises GitOps tools: the Argo CD health check (Lua, run here with
// gopher-lua, the interpreter Argo CD embeds) and that the operator writes only the status of the objects users
// keep in Git.
package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// healthScript is the Argo CD health check docs/gitops.md includes for both kinds.
var healthScript = filepath.Join(controlplane.RepoRoot(), "docs", "gitops", "health.lua")

// health is what an Argo CD health check returns.
type health struct{ status, message string }

// argoHealthStatuses are the values Argo CD accepts in hs.status; anything else becomes Unknown.
var argoHealthStatuses = []string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

// runHealth runs script on obj the way Argo CD does (argo-cd util/lua): a Lua state with only the package, base
// and table libraries, obj as the global "obj" converted value by value, a one-second budget, and the table the
// script returns read as hs.status and hs.message.
func runHealth(t *testing.T, script string, obj map[string]any) health {
	t.Helper()
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			t.Fatalf("opening the %s library: %v", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		t.Fatalf("the health script failed: %v", err)
	}
	hs, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the health script returned %s, not a table", l.Get(-1).Type())
	}
	got := health{status: lua.LVAsString(hs.RawGetString("status")), message: lua.LVAsString(hs.RawGetString("message"))}
	if !slices.Contains(argoHealthStatuses, got.status) {
		t.Fatalf("hs.status %q is not one Argo CD knows (%v)", got.status, argoHealthStatuses)
	}
	return got
}

// toLua converts a decoded JSON object into Lua values as Argo CD's decodeValue does. Integers from the API arrive
// as int64 (unstructured objects), numbers from YAML or JSON as float64; all become Lua numbers.
func toLua(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case float64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case []any:
		table := l.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(l, item))
		}
		return table
	case map[string]any:
		table := l.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetH(lua.LString(key), toLua(l, item))
		}
		return table
	}
	return lua.LNil
}

func readHealthScript(t *testing.T) string {
	t.Helper()
	script, err := os.ReadFile(healthScript)
	if err != nil {
		t.Fatal(err)
	}
	return string(script)
}

// object builds a TransferEndpoint or TransferUser as the API server returns it: generation, and a Ready condition
// unless status is "".
func object(t *testing.T, kind string, generation, observed int, status, reason, message string) map[string]any {
	t.Helper()
	manifest := fmt.Sprintf(`
apiVersion: transfer.pier.dev/v1alpha1
kind: %s
metadata: {name: files, namespace: team, generation: %d}
spec: {}
`, kind, generation)
	if status != "" {
		manifest += fmt.Sprintf(`
status:
  observedGeneration: %d
  conditions:
  - {type: HostKeysReady, status: "True", reason: Valid, message: ok, observedGeneration: %d}
  - {type: Ready, status: %q, reason: %s, message: %q, observedGeneration: %d}
`, observed, observed, status, reason, message, observed)
	}
	u := &unstructured.Unstructured{}
	// Through JSON into unstructured, as client-go decodes API responses: integers become int64.
	data, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if err := u.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	return u.Object
}

// readyReasons is every reason the controllers put in a Ready condition, with the health it must map to when
// Ready has that reason (with status True for the reasons that come with True).
var readyReasons = map[string]string{
	// Ready=True.
	"Serving":  "Healthy",
	"Disabled": "Healthy", // a disabled user is served exactly as its spec asks: refused
	// Ready=False that resolves by itself.
	"Pending":                  "Progressing",
	"GeneratedPasswordPending": "Progressing",
	"PodsNotAvailable":         "Progressing",
	"PodsUnschedulable":        "Progressing",
	"EndpointUnavailable":      "Progressing",
	"CertificatePending":       "Progressing",
	"LoadBalancerPending":      "Progressing",
	"ReconcileFailed":          "Progressing",
	// Ready=False on purpose.
	"ScaledToZero": "Healthy",
	// Ready=False that needs someone to act.
	"SecretNotFound":          "Degraded",
	"SecretKeyNotFound":       "Degraded",
	"InvalidHostKeys":         "Degraded",
	"HostKeysMissing":         "Degraded",
	"NoHostKeys":              "Degraded",
	"InvalidCertificate":      "Degraded",
	"CertificateExpired":      "Degraded",
	"CertManagerNotInstalled": "Degraded",
	"InvalidConfig":           "Degraded",
	"AddressRequired":         "Degraded",
	"EndpointNotFound":        "Degraded",
	"DuplicateUsername":       "Degraded",
	"InvalidPassword":         "Degraded",
	"InvalidAuthorizedKeys":   "Degraded",
	"InvalidUser":             "Degraded",
	"SecretUnreadable":        "Degraded", // never written today (it is retried as an error), but Degraded if it were
	"ReplicaFailure":          "Degraded",
	"PodsFailing":             "Degraded",
	"HomeOverlap":             "Degraded",
	"TooManyKeys":             "Degraded",
	"EntryTooLarge":           "Degraded",
	"NoCredentials":           "Degraded",
	"PasswordSecretConflict":  "Degraded",
	"PasswordEmpty":           "Degraded",
	"HostKeySecretConflict":   "Degraded",
	"EndpointFull":            "Degraded",
	// A claim of the endpoint's name that is not its own needs someone to act; one still being deleted with an
	// earlier endpoint resolves by itself, but cannot be told apart by reason alone.
	"NotAdopted": "Degraded",
	// Reasons of other conditions (never of Ready); listed so the drift check below knows them.
	"MinimumReplicasAvailable": "", "Valid": "", "Loaded": "", "Configured": "",
	"ClusterInternal": "", "LoadBalancer": "", "AllUsersServed": "", "UsersNotServed": "", "ConfigWriteFailed": "",
	// Reasons of events only.
	"HostKeysGenerated": "", "HostKeysRegenerated": "", "HostKeysChanged": "", "HostKeyRegenerationRefused": "",
	"HostKeysAdded": "", "HostKeyAdditionRefused": "", "HostKeysRetired": "", "HostKeyRetirementRefused": "",
	"Readopted": "", "Retained": "", "RetainedClaimDiffers": "",
}

func TestHealthByReason(t *testing.T) {
	script := readHealthScript(t)
	for reason, want := range readyReasons {
		if want == "" {
			continue
		}
		status := "False"
		if reason == "Serving" || reason == "Disabled" {
			status = "True"
		}
		for _, kind := range []string{"TransferEndpoint", "TransferUser"} {
			got := runHealth(t, script, object(t, kind, 3, 3, status, reason, "what the operator says"))
			if got.status != want || got.message != reason+": what the operator says" {
				t.Errorf("%s Ready=%s/%s: got %s %q, want %s %q", kind, status, reason, got.status, got.message,
					want, reason+": what the operator says")
			}
		}
	}
}

func TestHealthSpecialCases(t *testing.T) {
	script := readHealthScript(t)
	noReady := object(t, "TransferEndpoint", 1, 1, "", "", "")
	noReady["status"] = map[string]any{"observedGeneration": int64(1), "conditions": []any{
		map[string]any{"type": "HostKeysReady", "status": "True", "reason": "Valid", "observedGeneration": int64(1)},
	}}
	cases := []struct {
		name string
		obj  map[string]any
		want health
	}{
		{"no status", object(t, "TransferEndpoint", 1, 0, "", "", ""),
			health{"Progressing", "Waiting for the operator to report the Ready condition"}},
		{"no Ready condition", noReady,
			health{"Progressing", "Waiting for the operator to report the Ready condition"}},
		{"Ready=True for an older generation", object(t, "TransferEndpoint", 2, 1, "True", "Serving", "serving sftp"),
			health{"Progressing", "Waiting for the operator to observe generation 2"}},
		{"Ready=False for an older generation", object(t, "TransferUser", 5, 4, "False", "SecretNotFound", "gone"),
			health{"Progressing", "Waiting for the operator to observe generation 5"}},
		{"Ready=Unknown", object(t, "TransferUser", 1, 1, "Unknown", "Checking", "looking"),
			health{"Progressing", "Checking: looking"}},
		{"a reason added after this script", object(t, "TransferEndpoint", 1, 1, "False", "SomethingNew", "new"),
			health{"Degraded", "SomethingNew: new"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := runHealth(t, script, c.obj); got != c.want {
				t.Errorf("got %s %q, want %s %q", got.status, got.message, c.want.status, c.want.message)
			}
		})
	}
}

// TestEveryReasonIsClassified reads the reasons the operator may set (apiReasons: the Reason constants of
// api/v1alpha1, which TestNoInlineReasons keeps complete), so that a reason added there is added to readyReasons
// (and, if it resolves by itself, to the health script's list) too; and that readyReasons lists no reason the
// operator no longer has.
func TestEveryReasonIsClassified(t *testing.T) {
	reasons := apiReasons(t)
	if len(reasons) < 20 {
		t.Errorf("found only %d reason constants in api/v1alpha1: the reader no longer matches the code", len(reasons))
	}
	values := map[string]bool{}
	for name, reason := range reasons {
		values[reason] = true
		if _, ok := readyReasons[reason]; !ok {
			t.Errorf("api/v1alpha1 declares %s = %q, which readyReasons does not classify", name, reason)
		}
	}
	for reason := range readyReasons {
		if !values[reason] {
			t.Errorf("readyReasons classifies %q, which is no reason constant of api/v1alpha1", reason)
		}
	}
}
