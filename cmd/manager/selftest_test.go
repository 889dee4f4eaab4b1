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
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// fakeAPIServer answers discovery of transfer.pier.dev/v1alpha1 with kinds, or 404 when kinds is nil.
func fakeAPIServer(t *testing.T, kinds []string) *rest.Config {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apis/transfer.pier.dev/v1alpha1" || kinds == nil {
			http.NotFound(w, r)
			return
		}
		list := metav1.APIResourceList{GroupVersion: "transfer.pier.dev/v1alpha1"}
		for _, k := range kinds {
			list.APIResources = append(list.APIResources, metav1.APIResource{Name: strings.ToLower(k) + "s", Kind: k, Namespaced: true})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	}))
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}
}

func readyServer(t *testing.T, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	t.Cleanup(srv.Close)
	return srv.URL + "/readyz"
}

// TestSelftest checks each answer of `manager selftest`, the Helm chart's helm test, with its exit status and a
// message that says what to look at. test/chart runs it against a real API server too.
func TestSelftest(t *testing.T) {
	both := []string{"TransferEndpoint", "TransferUser"}
	for _, c := range []struct {
		name  string
		kinds []string
		ready int
		args  []string
		code  int
		want  string
	}{
		{"ready", both, http.StatusOK, nil, 0, "a manager is ready"},
		{"no CRDs", nil, http.StatusOK, nil, 1, "does not serve transfer.pier.dev/v1alpha1 (are the CRDs installed?"},
		{"a CRD missing", []string{"TransferEndpoint"}, http.StatusOK, nil, 1, "without the kind TransferUser"},
		{"not ready", both, http.StatusServiceUnavailable, nil, 1, "is not ready: 503"},
		{"no URL", both, http.StatusOK, []string{}, 2, "want --ready-url"},
		{"unknown flag", both, http.StatusOK, []string{"--ready=x"}, 2, "flag provided but not defined"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := fakeAPIServer(t, c.kinds)
			args := c.args
			if args == nil {
				args = []string{"--ready-url=" + readyServer(t, c.ready)}
			}
			var stdout, stderr bytes.Buffer
			code := selftest(args, func() (*rest.Config, error) { return cfg, nil }, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit status %d, want %d saying %q:\n%s", code, c.code, c.want, out)
			}
		})
	}
	// Nothing answers at the URL.
	var stderr bytes.Buffer
	cfg := fakeAPIServer(t, both)
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL + "/readyz"
	closed.Close()
	code := selftest([]string{"--ready-url=" + url}, func() (*rest.Config, error) { return cfg, nil }, &bytes.Buffer{}, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no manager answered") {
		t.Errorf("nothing listening: exit status %d: %s", code, stderr.String())
	}
}
