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

// Command manager runs the pier operator: it reconciles TransferEndpoints and TransferUsers.
package main

import (
	"crypto/tls"
	"flag"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller"
)

// defaultServerImage is the pier-server image released with this manager; the Makefile and Helm chart override it.
var defaultServerImage = "ghcr.io/pier-dev/pier-server:dev"

func main() {
	// `manager selftest` is the Helm chart's `helm test` (selftest.go); everything else starts the manager.
	if len(os.Args) > 1 && os.Args[1] == "selftest" {
		os.Exit(selftest(os.Args[2:], ctrl.GetConfig, os.Stdout, os.Stderr))
	}
	var (
		metricsAddr          string
		probeAddr            string
		secureMetrics        bool
		enableLeaderElection bool
		enableHTTP2          bool
		serverImage          string
		serverPullPolicy     string
		watchNamespaces      string
		concurrency          int
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443",
		"Address the metrics endpoint binds to (HTTPS, authenticated and authorized through the API server). "+
			"Use 0 to disable it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS with authentication and authorization.")
	flag.BoolVar(&enableLeaderElection, "leader-elect", false,
		"Elect a leader so that only one replica of the manager reconciles at a time.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false,
		"Serve HTTP/2 on the metrics endpoint. Off by default because of the HTTP/2 rapid-reset and stream "+
			"cancellation CVEs.")
	flag.StringVar(&serverImage, "server-image", defaultServerImage,
		"The pier-server image that TransferEndpoint Deployments run.")
	flag.StringVar(&serverPullPolicy, "server-image-pull-policy", "",
		"Image pull policy of the pier-server container: Always, IfNotPresent or Never; empty leaves Kubernetes' default.")
	flag.StringVar(&watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces to reconcile; empty watches every namespace.")
	flag.IntVar(&concurrency, "max-concurrent-reconciles", 4,
		"How many TransferEndpoints (and, separately, TransferUsers) are reconciled at once.")
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(transferv1alpha1.AddToScheme(scheme))

	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOptions := metricsserver.Options{
		BindAddress:   metricsAddr,
		SecureServing: secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if secureMetrics {
		metricsOptions.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	cfg := ctrl.GetConfigOrDie()
	mgrOptions, certManager, err := controller.ManagerOptions(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsOptions,
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         enableLeaderElection,
		LeaderElectionID:       "pier-manager.transfer.pier.dev",
	}, splitList(watchNamespaces))
	if err != nil {
		log.Error(err, "unable to reach the API server")
		os.Exit(1)
	}
	if !certManager {
		log.Info("cert-manager is not installed: endpoints with spec.ftp.tls.issuerRef will report TLSReady=False " +
			"until it is installed and the operator restarted")
	}
	mgr, err := ctrl.NewManager(cfg, mgrOptions)
	if err != nil {
		log.Error(err, "unable to create the manager")
		os.Exit(1)
	}

	pullPolicy := corev1.PullPolicy(serverPullPolicy)
	switch pullPolicy {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		log.Error(nil, "invalid --server-image-pull-policy: want Always, IfNotPresent or Never", "value", serverPullPolicy)
		os.Exit(2)
	}
	ctx := ctrl.SetupSignalHandler()
	if err := controller.Setup(ctx, mgr, controller.Options{
		ServerImage:             serverImage,
		ServerImagePullPolicy:   pullPolicy,
		MaxConcurrentReconciles: concurrency,
		CertManager:             certManager,
	}); err != nil {
		log.Error(err, "unable to set up the controllers")
		os.Exit(1)
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "unable to set up the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "unable to set up the readiness check")
		os.Exit(1)
	}

	log.Info("starting manager")
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
