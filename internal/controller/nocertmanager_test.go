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
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

// TestWithoutCertManager runs the operator on a cluster without cert-manager's CRDs, as many clusters are: it must
// start, serve endpoints that bring their own certificate, and tell an endpoint with issuerRef what is missing.
func TestWithoutCertManager(t *testing.T) {
	bare, err := controlplane.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bare.Stop() }()
	opts, certManager, err := controller.ManagerOptions(bare.Config, ctrl.Options{
		Scheme:  bare.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		// The package's other manager already uses the controllers' names, which must otherwise be unique.
		Controller: config.Controller{SkipNameValidation: ptr(true)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if certManager {
		t.Fatal("cert-manager reported as installed on an API server without its CRDs")
	}
	mgr, err := ctrl.NewManager(bare.Config, opts)
	if err != nil {
		t.Fatalf("the manager does not start without cert-manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := controller.Setup(ctx, mgr, controller.Options{ServerImage: testImage, CertManager: certManager}); err != nil {
		t.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()

	ns := bare.Namespace(t)
	te := newEndpoint(ns, "no-issuer")
	if err := bare.Client.Create(ctx, te); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "TLSReady says cert-manager is missing", 30*time.Second, func() error {
		if err := bare.Client.Get(ctx, client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		c := meta.FindStatusCondition(te.Status.Conditions, transferv1alpha1.ConditionTLSReady)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "CertManagerNotInstalled" {
			return fmt.Errorf("TLSReady = %+v", c)
		}
		return nil
	})
	// SFTP and the rest of the endpoint are still deployed.
	poll.Until(t, "the Deployment exists", 30*time.Second, func() error {
		return bare.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: te.Name}, &appsv1.Deployment{})
	})
}
