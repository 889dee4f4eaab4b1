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
	"flag"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller"
	"github.com/pier-dev/pier/internal/controller/render"
)

// defaultServerImage is the pier-server image released with this manager; the Makefile and Helm chart override it.
var defaultServerImage = "ghcr.io/pier-dev/pier-server:dev"

func main() {
	// `manager selftest` is the Helm chart's `helm test` (selftest.go); everything else starts the manager.
	if len(os.Args) > 1 && os.Args[1] == "selftest" {
		os.Exit(selftest(os.Args[2:], ctrl.GetConfig, os.Stdout, os.Stderr))
	}
	var (
		metrics              metricsFlags
		probeAddr            string
		enableLeaderElection bool
		serverImage          string
		serverPullPolicy     string
		watchNamespaces      string
		concurrency          int
		endpointDefaults     string
	)
	flag.StringVar(&metrics.bindAddress, "metrics-bind-address", ":8443",
		"Address the metrics endpoint binds to (HTTPS, authenticated and authorized through the API server). "+
			"Use 0 to disable it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to.")
	flag.BoolVar(&metrics.secure, "metrics-secure", true, "Serve metrics over HTTPS with authentication and authorization.")
	flag.StringVar(&metrics.certPath, "metrics-cert-path", "",
		"Folder of the metrics endpoint's serving certificate, such as a mounted cert-manager Secret; reloaded when it "+
			"changes. Empty means a self-signed certificate made at start.")
	flag.StringVar(&metrics.certName, "metrics-cert-name", "tls.crt", "The certificate file in --metrics-cert-path.")
	flag.StringVar(&metrics.keyName, "metrics-cert-key", "tls.key", "The private key file in --metrics-cert-path.")
	flag.BoolVar(&enableLeaderElection, "leader-elect", false,
		"Elect a leader so that only one replica of the manager reconciles at a time.")
	flag.BoolVar(&metrics.enableHTTP2, "enable-http2", false,
		"Serve HTTP/2 on the metrics endpoint. Off by default because of the HTTP/2 rapid-reset and stream "+
			"cancellation CVEs.")
	flag.StringVar(&serverImage, "server-image", defaultServerImage,
		"The pier-server image that TransferEndpoint Deployments run.")
	flag.StringVar(&serverPullPolicy, "server-image-pull-policy", "",
		"Image pull policy of the pier-server container: Always, IfNotPresent or Never; empty leaves Kubernetes' default.")
	flag.StringVar(&watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces to reconcile; empty watches every namespace.")
	flag.StringVar(&endpointDefaults, "endpoint-defaults", "",
		"YAML file of defaults for every TransferEndpoint's pods (imagePullSecrets, tolerations, nodeSelector, "+
			"priorityClassName), usually mounted from a ConfigMap; read at start. Empty means none.")
	flag.IntVar(&concurrency, "max-concurrent-reconciles", 4,
		"How many TransferEndpoints (and, separately, TransferUsers) are reconciled at once.")
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	// Before anything else, so a mistake in the file stops the manager at once with a message naming it.
	podDefaults, err := readPodDefaults(endpointDefaults)
	if err != nil {
		log.Error(err, "invalid --endpoint-defaults")
		os.Exit(2)
	}
	if endpointDefaults != "" {
		log.Info("endpoint pod defaults", "file", endpointDefaults, "imagePullSecrets", len(podDefaults.ImagePullSecrets),
			"tolerations", len(podDefaults.Tolerations), "nodeSelector", podDefaults.NodeSelector,
			"priorityClassName", podDefaults.PriorityClassName)
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(transferv1alpha1.AddToScheme(scheme))

	metricsOpts, metricsCert, err := metricsOptions(metrics)
	if err != nil {
		log.Error(err, "invalid metrics settings")
		os.Exit(2)
	}

	cfg := ctrl.GetConfigOrDie()
	mgrOptions, certManager, err := controller.ManagerOptions(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsOpts,
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         enableLeaderElection,
		LeaderElectionID:       "pier-manager.transfer.pier.dev",
	}, splitList(watchNamespaces))
	if err != nil {
		log.Error(err, "unable to reach the API server")
		os.Exit(1)
	}
	if !certManager {
		log.Info("cert-manager is not installed: endpoints with spec.ftp.tls.issuerRef report TLSReady=False " +
			"until it is; the operator watches for its Certificate CRD and then creates their Certificates")
	}
	mgr, err := ctrl.NewManager(cfg, mgrOptions)
	if err != nil {
		log.Error(err, "unable to create the manager")
		os.Exit(1)
	}

	if metricsCert != nil {
		if err := mgr.Add(metricsCert); err != nil {
			log.Error(err, "unable to watch the metrics certificate")
			os.Exit(1)
		}
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
		PodDefaults:             podDefaults,
		MaxConcurrentReconciles: concurrency,
		CertManager:             certManager,
		WatchNamespaces:         splitList(watchNamespaces),
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

// readPodDefaults reads the --endpoint-defaults file; no file means no defaults.
func readPodDefaults(path string) (render.PodDefaults, error) {
	if path == "" {
		return render.PodDefaults{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return render.PodDefaults{}, fmt.Errorf("reading the endpoint defaults: %w", err)
	}
	d, err := render.ParsePodDefaults(data)
	if err != nil {
		return render.PodDefaults{}, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
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
