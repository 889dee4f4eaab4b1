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
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// TestHowToConnectWarnsAboutTheBan: where the demo prints how to add a user, it says that failed logins before the
// user is Ready ban the address, with the endpoint's own numbers, and how to wait for Ready instead.
func TestHowToConnectWarnsAboutTheBan(t *testing.T) {
	five := int32(5)
	var out bytes.Buffer
	printHowToConnect(&out, connectInfo{
		envFile: "/x/.demo/endpoint.env",
		env:     envVars{{"SFTP_PORT", "2222"}},
		kubectl: kubectl{path: "/usr/bin/kubectl", origin: "the kubectl on your PATH, v1.37.1"},
		limits: transferv1alpha1.LimitsSpec{
			MaxLoginFailures: &five, BanDuration: &metav1.Duration{Duration: 90 * time.Second},
		},
	})
	text := out.String()
	for _, want := range []string{
		`"$KUBECTL" wait --for=condition=Ready tu/`, "5 failed logins", "ban that address for 1m30s", "127.0.0.1",
		"the kubectl on your PATH, v1.37.1", ". /x/.demo/endpoint.env", "removes /x/.demo/endpoint.env",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's instructions lack %q:\n%s", want, text)
		}
	}

	zero := int32(0)
	out.Reset()
	printHowToConnect(&out, connectInfo{limits: transferv1alpha1.LimitsSpec{MaxLoginFailures: &zero}})
	if strings.Contains(out.String(), "ban") {
		t.Errorf("with banning off (maxLoginFailures 0), the instructions still speak of a ban:\n%s", out.String())
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "1m", 15 * time.Minute: "15m", time.Hour: "1h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s",
		90 * time.Second: "1m30s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
