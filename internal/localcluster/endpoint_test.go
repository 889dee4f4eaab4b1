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

package localcluster

import (
	"context"
	"encoding/pem"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

// TestKnownHostsPatterns: the lines name each host as OpenSSH looks it up: [host]:port, but the bare host on
// port 22, and an IPv6 address in brackets.
func TestKnownHostsPatterns(t *testing.T) {
	priv, signer := testcreds.Ed25519(t)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "keys"},
		Data:       map[string][]byte{"ssh_host_ed25519_key": pem.EncodeToMemory(block), "not-a-key": []byte("x")},
	}
	c := fake.NewClientBuilder().WithObjects(secret).Build()
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	for _, tc := range []struct {
		port  int
		hosts []string
		want  string
	}{
		{2222, []string{"127.0.0.1", "localhost"}, "[127.0.0.1]:2222,[localhost]:2222 " + key + "\n"},
		{22, []string{"10.96.0.7"}, "10.96.0.7 " + key + "\n"},
		{2222, []string{"::1"}, "[::1]:2222 " + key + "\n"},
	} {
		got, err := knownHosts(context.Background(), c, "ns", "keys", tc.port, tc.hosts...)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("port %d, hosts %v: %q, want %q", tc.port, tc.hosts, got, tc.want)
		}
	}
}
