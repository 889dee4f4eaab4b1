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

package controller_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

// randomRSALine is an RSA 16384 public key as one authorized_keys line (about 2,800 bytes that do not compress),
// made without key generation: any odd-sized modulus with a valid exponent parses.
func randomRSALine() string {
	n := make([]byte, 2048)
	_, _ = rand.Read(n)
	n[0] |= 0x80
	wire := ssh.Marshal(struct {
		Type string
		E, N *big.Int
	}{ssh.KeyAlgoRSA, big.NewInt(65537), new(big.Int).SetBytes(n)})
	return ssh.KeyAlgoRSA + " " + base64.StdEncoding.EncodeToString(wire)
}

// TestFullEndpointLeavesOutTheNewestUsers: when even the gzipped config would not fit in its Secret, the oldest
// users that fit are served and the newest are left out, each told why (EndpointFull), and the endpoint's
// UsersServed condition names them. Deleting users makes room again.
func TestFullEndpointLeavesOutTheNewestUsers(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	const users, keysEach = 26, 20 // about 56 KiB a user, under the 64 KiB a user may take
	created := make([]*transferv1alpha1.TransferUser, 0, users)
	for i := range users {
		tu := newUser(ns, fmt.Sprintf("big%02d", i), fmt.Sprintf("big%02d", i))
		tu.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{}
		for range keysEach {
			tu.Spec.AuthorizedKeys.Keys = append(tu.Spec.AuthorizedKeys.Keys, randomRSALine())
		}
		create(t, tu)
		created = append(created, tu)
		time.Sleep(10 * time.Millisecond) // distinct creation order within the second's resolution is by name
	}
	newest := created[users-1]
	c := condition(t, newest, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "EndpointFull")
	if !strings.Contains(c.Message, "bytes") {
		t.Errorf("the message should say what is full: %s", c.Message)
	}
	condition(t, created[0], transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	endpoint := &transferv1alpha1.TransferEndpoint{}
	get(t, ns, te.Name, endpoint)
	// The newest user is EndpointFull as soon as its endpoint is full, which it already is while the endpoint's
	// pass over all the users is still running: wait for that pass to name it.
	eventually(t, func() error {
		ep := condition(t, endpoint, transferv1alpha1.ConditionUsersServed, metav1.ConditionFalse, "EndpointFull")
		if !strings.Contains(ep.Message, newest.Name+" (EndpointFull)") {
			return fmt.Errorf("UsersServed should name %s: %s", newest.Name, ep.Message)
		}
		return nil
	})
	_, secret := servedConfig(t, te)
	data, ok := secret.Data[render.ConfigKey+".gz"]
	if !ok || len(data) > controller.MaxConfigBytes {
		t.Fatalf("the config Secret holds keys %v, want a gzipped config of at most %d bytes", keysOf(secret), controller.MaxConfigBytes)
	}

	for _, tu := range created[:5] {
		if err := k8s.Delete(context.Background(), tu); err != nil {
			t.Fatal(err)
		}
	}
	condition(t, newest, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")
	condition(t, endpoint, transferv1alpha1.ConditionUsersServed, metav1.ConditionTrue, "AllUsersServed")
}

func keysOf(s *corev1.Secret) []string {
	out := make([]string, 0, len(s.Data))
	for k := range s.Data {
		out = append(out, k)
	}
	return out
}

// TestRevocationGetsThroughAFailingStep: a child that cannot be applied (here the Service, whose node port another
// Service holds) fails the reconcile, but a deleted user still leaves the config.
func TestRevocationGetsThroughAFailingStep(t *testing.T) {
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	pat := createPasswordUser(t, ns, "pat")
	condition(t, pat, transferv1alpha1.ConditionReady, metav1.ConditionTrue, "Serving")

	squatter := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "squatter"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "none"},
			Ports: []corev1.ServicePort{{Port: 31120, NodePort: 31120}}},
	}
	create(t, squatter)
	update(t, te, func(e *transferv1alpha1.TransferEndpoint) {
		// Each passive port is published as the same node port, and 31120 is taken.
		e.Spec.Service.Type = "NodePort"
		e.Spec.FTP = &transferv1alpha1.FTPSpec{
			TLS:     transferv1alpha1.FTPTLSSpec{Mode: transferv1alpha1.FTPTLSDisabled},
			Passive: transferv1alpha1.PassiveSpec{PortRange: transferv1alpha1.PortRange{Start: 31120, End: 31121}},
		}
	})
	condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "ReconcileFailed")

	if err := k8s.Delete(context.Background(), pat); err != nil {
		t.Fatal(err)
	}
	userEntry(t, te, "pat", false)
}

// TestTenThousandUsers: one endpoint with 10,000 users (the most it serves) renders them all into one gzipped
// config Secret, and users are Ready. It takes about three and a half minutes of two busy cores, so it runs with
// make test-scale (PIER_SCALE_TESTS=1), not in make test.
func TestTenThousandUsers(t *testing.T) {
	if os.Getenv("PIER_SCALE_TESTS") != "1" {
		t.Skip("a scale test: run it with make test-scale (PIER_SCALE_TESTS=1)")
	}
	ns := env.Namespace(t)
	te := sftpEndpoint(t, ns)
	started := time.Now()
	const n = controller.MaxUsersPerEndpoint
	work := make(chan int)
	var wg sync.WaitGroup
	var failed sync.Once
	for range 16 {
		wg.Go(func() {
			for i := range work {
				tu := newUser(ns, fmt.Sprintf("u%05d", i), fmt.Sprintf("user%05d", i))
				tu.Spec.AuthorizedKeys = &transferv1alpha1.AuthorizedKeysSource{Keys: []string{randomEd25519Line()}}
				if err := k8s.Create(context.Background(), tu); err != nil {
					failed.Do(func() { t.Errorf("creating %s: %v", tu.Name, err) })
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("created %d users in %s", n, time.Since(started).Round(time.Second))

	poll.Until(t, "the config serves every user", 5*time.Minute, func() error {
		cfg, secret := servedConfig(t, te)
		if len(cfg.Users) != n {
			return fmt.Errorf("the config serves %d users (%d bytes)", len(cfg.Users), len(render.ConfigData(secret)))
		}
		return nil
	})
	t.Logf("all %d users in the config after %s", n, time.Since(started).Round(time.Second))
	for _, i := range []int{0, n / 2, n - 1} {
		tu := &transferv1alpha1.TransferUser{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("u%05d", i)}, tu); err != nil {
			t.Fatal(err)
		}
		poll.Until(t, tu.Name+" Ready", 5*time.Minute, func() error {
			if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(tu), tu); err != nil {
				return err
			}
			if c := findCondition(tu, transferv1alpha1.ConditionReady); c == nil || c.Reason != "Serving" {
				return fmt.Errorf("Ready is %+v", c)
			}
			return nil
		})
	}
	t.Logf("sampled users Ready after %s", time.Since(started).Round(time.Second))
}
