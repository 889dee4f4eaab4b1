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
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// selftestKinds are the kinds the API server must serve for the manager to work.
var selftestKinds = []string{"TransferEndpoint", "TransferUser"}

// selftest is `manager selftest`, what the Helm chart's `helm test` Pod runs: the manager image holds no shell or
// HTTP client, so the check lives in the manager binary. It checks that the API server serves pier's CRDs (with the
// Pod's own credentials: discovery is open to every authenticated user) and that a manager answers on its readiness
// endpoint. It returns the process's exit status: 0 when both hold, 1 when one does not, 2 for a bad command line.
func selftest(args []string, config func() (*rest.Config, error), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	readyURL := fs.String("ready-url", "", "The manager's readiness endpoint, such as http://pier-probes.pier-system.svc:8081/readyz.")
	timeout := fs.Duration("timeout", 30*time.Second, "How long the whole check may take.")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *readyURL == "" || fs.NArg() > 0 {
		_, _ = fmt.Fprintln(stderr, "selftest: want --ready-url=URL and no arguments")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	cfg, err := config()
	if err == nil {
		err = checkCRDsServed(cfg)
	}
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "selftest:", err)
		return 1
	}
	_, _ = fmt.Fprintf(stdout, "the API server serves %s %v\n", transferv1alpha1.GroupVersion, selftestKinds)
	if err := checkReady(ctx, *readyURL); err != nil {
		_, _ = fmt.Fprintln(stderr, "selftest:", err)
		return 1
	}
	_, _ = fmt.Fprintf(stdout, "a manager is ready: %s answered 200\n", *readyURL)
	return 0
}

// checkCRDsServed asks the API server's discovery for pier's group version and kinds.
func checkCRDsServed(cfg *rest.Config) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("connecting to the API server: %w", err)
	}
	gv := transferv1alpha1.GroupVersion.String()
	resources, err := dc.ServerResourcesForGroupVersion(gv)
	if err != nil {
		return fmt.Errorf("the API server does not serve %s (are the CRDs installed? crds.enabled): %w", gv, err)
	}
	for _, kind := range selftestKinds {
		if !slices.ContainsFunc(resources.APIResources, func(r metav1.APIResource) bool { return r.Kind == kind }) {
			return fmt.Errorf("the API server serves %s without the kind %s: apply the CRDs of this release", gv, kind)
		}
	}
	return nil
}

// checkReady GETs the readiness endpoint once: helm test runs after the install has settled, and a retry here
// would only hide a manager that is not ready.
func checkReady(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bad --ready-url: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no manager answered at %s in time: %w", url, err)
		}
		return fmt.Errorf("no manager answered at %s (is the manager Deployment available?): %w", url, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the manager at %s is not ready: %s %q", url, resp.Status, body)
	}
	return nil
}
