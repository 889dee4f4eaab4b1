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

package monitoring

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/readymetrics"
	"github.com/pier-dev/pier/server/metrics"
)

// externalMetrics are the metrics the rules use that pier does not export, by who does.
var externalMetrics = map[string]string{
	"kube_pod_container_status_restarts_total": "kube-state-metrics",
}

// exportedNames are the names of every series pier-server and the manager's own collectors export, as Prometheus
// stores them (a histogram's _bucket, _sum and _count). Each registry is given one series of everything, since a
// family without series is not gathered.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	add := func(g prometheus.Gatherer) {
		families, err := g.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			name := f.GetName()
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
			case dto.MetricType_SUMMARY:
				names[name+"_sum"], names[name+"_count"] = true, true
			default:
				names[name] = true
			}
		}
	}
	add(serverRegistry())
	add(managerRegistry(t))
	return names
}

// serverRegistry is pier-server's registry with a series of each metric.
func serverRegistry() prometheus.Gatherer {
	m := metrics.New(func() int { return 1 })
	m.SetBuild("test", "test")
	m.ConnectionOpened("sftp")()
	m.ConnectionRejected("sftp", "banned")
	m.Login("sftp", "password", "failure")
	m.FileOperation("sftp", "upload", "ok", time.Second, 10, 0)
	m.ConfigLoaded()
	m.ConfigReload("file", true)
	m.SessionRevoked("sftp", "disabled")
	m.WatchCertificate("ftp", certificate{})
	m.WatchHostKeys(certificate{})
	return m.Registry
}

// certificate is a loaded certificate source, for the TLS and host-key metrics.
type certificate struct{}

func (certificate) LoadState() (bool, time.Time) { return true, time.Now() }
func (certificate) Certificate() (*tls.Certificate, error) {
	return &tls.Certificate{Leaf: &x509.Certificate{DNSNames: []string{"ftp.example.com"}, NotAfter: time.Now()}}, nil
}

// managerRegistry holds the manager's own collectors with one endpoint and one user to report.
func managerRegistry(t *testing.T) prometheus.Gatherer {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := transferv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		&transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "files"}},
		&transferv1alpha1.TransferUser{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "alice"},
			Spec: transferv1alpha1.TransferUserSpec{EndpointRef: transferv1alpha1.LocalObjectReference{Name: "files"}, Username: "alice"}},
	).Build()
	reg := prometheus.NewRegistry()
	reg.MustRegister(&readymetrics.Collector{Reader: reader, Log: logr.Discard()})
	return reg
}
