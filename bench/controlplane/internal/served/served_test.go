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

package served

import (
	"maps"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/serverconfig"
)

const hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"

// configSecretData is the config Secret the operator writes for an SFTP endpoint with users, as render makes it.
func configSecretData(t *testing.T, users []serverconfig.User, gzipped bool) []byte {
	t.Helper()
	te := &transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Name: "ep", Namespace: "bench"},
		Spec: transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}}}
	te.Default()
	cfg := render.ServerConfig(te, render.ConfigInputs{Users: users, HostKeyNames: []string{"ssh_host_ed25519_key"}})
	data, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if gzipped {
		data = serverconfig.Gzip(data)
	}
	return render.ConfigData(render.ConfigSecret(te, data, gzipped, nil))
}

func TestDecode(t *testing.T) {
	users := []serverconfig.User{{Username: "alice", PasswordHash: hash}, {Username: "bob", AuthorizedKeys: []string{
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm1c7zLW9r6BORocz1SsEbjZK4JFG+EoSLC/UzzcQWS bob@laptop"}}}
	want := map[string]string{"alice": hash, "bob": ""}
	for _, gzipped := range []bool{false, true} {
		got, err := Decode(configSecretData(t, users, gzipped))
		if err != nil {
			t.Fatalf("gzipped %t: %v", gzipped, err)
		}
		if !maps.Equal(got.Users, want) || got.Lenient != nil {
			t.Errorf("gzipped %t: %+v, want %v read strictly", gzipped, got, want)
		}
	}
}

// A config with a field this tree's serverconfig does not know (a newer manager's) still yields its users, and
// the caller learns that it was read leniently.
func TestDecodeLeniently(t *testing.T) {
	data := strings.Replace(string(configSecretData(t, []serverconfig.User{{Username: "alice", PasswordHash: hash}}, false)),
		"users:", "passwordCache: {}\nusers:", 1)
	got, err := Decode([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if got.Users["alice"] != hash || got.Lenient == nil || !strings.Contains(got.Lenient.Error(), "passwordCache") {
		t.Errorf("Decode = %+v; want alice read leniently, saying which field was unknown", got)
	}
	gz, err := Decode(serverconfig.Gzip([]byte(data)))
	if err != nil || gz.Users["alice"] != hash || gz.Lenient == nil {
		t.Errorf("gzipped: %+v, %v", gz, err)
	}
	for _, bad := range []string{"users: [{passwordHash: x}]", "users: 7", "\x1f\x8bnot gzip"} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) gave no error", bad)
		}
	}
}
