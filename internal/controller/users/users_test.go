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

package users

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/serverconfig"
)

func user(name, username string, created time.Time) transferv1alpha1.TransferUser {
	return transferv1alpha1.TransferUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec:       transferv1alpha1.TransferUserSpec{Username: username},
	}
}

func TestReferencedSecrets(t *testing.T) {
	tu := &transferv1alpha1.TransferUser{ObjectMeta: metav1.ObjectMeta{Name: "alice"}}
	if got := ReferencedSecrets(tu); got != nil {
		t.Errorf("a user without Secrets references %v", got)
	}
	tu.Spec.GeneratePassword = true
	tu.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{SecretRef: &transferv1alpha1.SecretKeyReference{Name: "keys"}}
	if got := ReferencedSecrets(tu); !slices.Equal(got, []string{"alice-password", "keys"}) {
		t.Errorf("ReferencedSecrets = %v", got)
	}
	tu.Spec.GeneratePassword = false
	tu.Spec.Password = &transferv1alpha1.PasswordSource{SecretRef: transferv1alpha1.SecretKeyReference{Name: "keys", Key: "pw"}}
	if got := ReferencedSecrets(tu); !slices.Equal(got, []string{"keys"}) {
		t.Errorf("one Secret for both should be listed once: %v", got)
	}
	if ref := PasswordRef(tu); ref.Key != "pw" {
		t.Errorf("PasswordRef = %+v", ref)
	}
}

// TestEntryMatchesTheServersDefaults checks that an entry is already in the form the server parses it into, so
// comparing a rendered entry with a served one never sees a difference that is only a default.
func TestEntryMatchesTheServersDefaults(t *testing.T) {
	tu := &transferv1alpha1.TransferUser{Spec: transferv1alpha1.TransferUserSpec{
		Username: "alice", Protocols: []transferv1alpha1.Protocol{"sftp"},
	}}
	entry := Entry(tu, nil)
	entry.PasswordHash = "$2a$04$abcdefghijklmnopqrstuuZ7/8mUj0vx0lHWEq6AYcBoQdb9bN6S2"
	cfg := serverconfig.Config{APIVersion: serverconfig.APIVersion, Kind: serverconfig.Kind, Users: []serverconfig.User{entry},
		SFTP: &serverconfig.SFTP{HostKeyFiles: []string{"/keys/ed25519"}}, Storage: serverconfig.Storage{Root: "/srv"}}
	data, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := serverconfig.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(parsed.Users[0], entry) {
		t.Errorf("entry changed through the server's parser:\n%+v\n%+v", entry, parsed.Users[0])
	}
}
