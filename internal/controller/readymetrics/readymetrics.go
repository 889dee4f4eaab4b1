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

// Package readymetrics exports the Ready condition of every TransferEndpoint and TransferUser as a gauge, so that
// "which endpoint is down" is one query: pier_endpoint_ready == 0.
//
// The gauges are read from the manager's cache at scrape time rather than set by the reconcilers. A gauge set on
// each status write must also be deleted on each delete (a finalizer, or a delete event that can be missed while
// the manager is down), and it says nothing after a restart until every object is reconciled again. Reading the
// cache, the series are the objects' statuses as the API server has them: a deleted object's series is gone at
// the next scrape, and no reconciler needs to know about metrics. kube-state-metrics' CustomResourceState would
// read the same statuses but needs a kube-state-metrics deployed with pier's config and RBAC; this needs nothing.
package readymetrics

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// NoReadyCondition is the reason label of an object that has no Ready condition yet (not reconciled so far).
const NoReadyCondition = "Unknown"

var (
	endpointReady = prometheus.NewDesc("pier_endpoint_ready",
		"1 when the TransferEndpoint's Ready condition is True, else 0; reason is the condition's reason.",
		[]string{"namespace", "endpoint", "reason"}, nil)
	userReady = prometheus.NewDesc("pier_user_ready",
		"1 when the TransferUser's Ready condition is True (it can log in), else 0; user is the TransferUser's "+
			"name, username its login name, reason the condition's reason.",
		[]string{"namespace", "user", "username", "endpoint", "reason"}, nil)
)

// listTimeout bounds one scrape's reads of the cache, which answer from memory once it has synced.
const listTimeout = 10 * time.Second

// Collector reports the Ready gauges of the objects Reader lists.
type Collector struct {
	// Reader is the manager's cache.
	Reader client.Reader
	// Elected closes when this replica leads; until then nothing is reported, so that with several replicas
	// only the one that reconciles (and whose statuses are current) has series. Nil reports at once.
	Elected <-chan struct{}
	// Log receives list errors.
	Log logr.Logger
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- endpointReady
	ch <- userReady
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if c.Elected != nil {
		select {
		case <-c.Elected:
		default:
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	// The objects are only read, so the cache's own copies do; a deep copy of ten thousand users per scrape
	// would be garbage for nothing.
	var endpoints transferv1alpha1.TransferEndpointList
	if err := c.Reader.List(ctx, &endpoints, client.UnsafeDisableDeepCopy); err != nil {
		c.Log.Error(err, "listing TransferEndpoints for pier_endpoint_ready")
	}
	for i := range endpoints.Items {
		te := &endpoints.Items[i]
		value, reason := ready(te.Status.Conditions)
		ch <- prometheus.MustNewConstMetric(endpointReady, prometheus.GaugeValue, value, te.Namespace, te.Name, reason)
	}
	var users transferv1alpha1.TransferUserList
	if err := c.Reader.List(ctx, &users, client.UnsafeDisableDeepCopy); err != nil {
		c.Log.Error(err, "listing TransferUsers for pier_user_ready")
	}
	for i := range users.Items {
		tu := &users.Items[i]
		value, reason := ready(tu.Status.Conditions)
		ch <- prometheus.MustNewConstMetric(userReady, prometheus.GaugeValue, value, tu.Namespace, tu.Name,
			tu.Spec.Username, tu.Spec.EndpointRef.Name, reason)
	}
}

// ready is the gauge's value and reason label for conditions.
func ready(conditions []metav1.Condition) (float64, string) {
	cond := meta.FindStatusCondition(conditions, transferv1alpha1.ConditionReady)
	if cond == nil {
		return 0, NoReadyCondition
	}
	if cond.Status == metav1.ConditionTrue {
		return 1, cond.Reason
	}
	return 0, cond.Reason
}

var (
	registeredMu sync.Mutex
	registered   *Collector
)

// Register puts c in controller-runtime's metrics registry, which the manager serves, in place of the collector
// registered before (a test, or a process, that runs a new manager replaces the old one's).
func Register(c *Collector) error {
	registeredMu.Lock()
	defer registeredMu.Unlock()
	if registered != nil {
		metrics.Registry.Unregister(registered)
	}
	if err := metrics.Registry.Register(c); err != nil {
		return err
	}
	registered = c
	return nil
}
