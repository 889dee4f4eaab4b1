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

package metrics

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// registry has the metrics as controller-runtime registers them (names, labels, the reconcile-time buckets).
type registry struct {
	reg    *prometheus.Registry
	total  *prometheus.CounterVec
	time   *prometheus.HistogramVec
	active *prometheus.GaugeVec
	depth  *prometheus.GaugeVec
	wait   *prometheus.HistogramVec
}

func newRegistry() *registry {
	r := &registry{
		reg:   prometheus.NewRegistry(),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{Name: reconcileTotal}, []string{"controller", "result"}),
		time: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: reconcileTime,
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
				1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60}},
			[]string{"controller"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: activeWorkers}, []string{"controller"}),
		depth:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: queueDepth}, []string{"controller", "name", "priority"}),
		// As controller-runtime's work queue metrics: named by both labels, buckets from 1e-8 s by tens.
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: queueWait, Buckets: prometheus.ExponentialBuckets(10e-9, 10, 12)},
			[]string{"controller", "name"}),
	}
	r.reg.MustRegister(r.total, r.time, r.active, r.depth, r.wait)
	return r
}

func (r *registry) reconcile(controller, result string, seconds float64) {
	r.total.WithLabelValues(controller, result).Inc()
	r.time.WithLabelValues(controller).Observe(seconds)
}

func (r *registry) scrape(t *testing.T) Snapshot {
	t.Helper()
	families, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Parse(&buf)
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	return s
}

func TestParse(t *testing.T) {
	r := newRegistry()
	for range 90 {
		r.reconcile("transferuser", "success", 0.003) // first bucket
	}
	for range 10 {
		r.reconcile("transferuser", "requeue_after", 0.7)
	}
	r.reconcile("transferendpoint", "error", 12)
	r.active.WithLabelValues("transferuser").Set(3)
	// The depth is one series per priority: the queue holds their sum.
	r.depth.WithLabelValues("transferuser", "transferuser", "0").Set(240)
	r.depth.WithLabelValues("transferuser", "transferuser", "-100").Set(10)
	r.wait.WithLabelValues("transferuser", "transferuser").Observe(42)
	first := r.scrape(t)

	u := first.Get("transferuser")
	// Waits of 10 to 100 s: the p99 is in that bucket.
	if got := u.Wait.Quantile(0.99); u.Wait.Count != 1 || got <= 10 || got > 100 {
		t.Errorf("queue wait %+v, p99 %v", u.Wait, got)
	}
	if u.Total() != 100 || u.Reconciles["requeue_after"] != 10 || u.Active != 3 || u.Depth != 250 {
		t.Errorf("transferuser = %+v", u)
	}
	// 90 of 100 at 3 ms: the median is inside the first bucket (0 to 5 ms), interpolated as Prometheus does.
	if got, want := u.Time.Quantile(0.5), 0.005*50/90; math.Abs(got-want) > 1e-9 {
		t.Errorf("p50 = %v, want %v", got, want)
	}
	// The 99th is in the (0.6, 0.7] bucket, which holds the last ten.
	if got := u.Time.Quantile(0.99); got <= 0.6 || got > 0.7 {
		t.Errorf("p99 = %v, want within (0.6, 0.7]", got)
	}
	if got := first.Get("transferendpoint").Time.Quantile(0.99); got <= 10 || got > 15 {
		t.Errorf("endpoint p99 = %v, want within (10, 15]", got)
	}
}

// A second phase: only what happened since the first scrape counts.
func TestSince(t *testing.T) {
	r := newRegistry()
	for range 90 {
		r.reconcile("transferuser", "success", 0.003)
	}
	r.active.WithLabelValues("transferuser").Set(3)
	r.depth.WithLabelValues("transferuser", "transferuser", "0").Set(250)
	first := r.scrape(t)
	for range 4 {
		r.reconcile("transferuser", "success", 2.2)
	}
	r.active.WithLabelValues("transferuser").Set(0)
	r.depth.WithLabelValues("transferuser", "transferuser", "0").Set(0)
	d := r.scrape(t).Since(first).Get("transferuser")
	if d.Total() != 4 || d.Time.Count != 4 || d.Depth != 0 || d.Active != 0 {
		t.Errorf("since the first scrape: %+v", d)
	}
	if got := d.Time.Quantile(0.5); got <= 2.0 || got > 2.5 {
		t.Errorf("p50 of the second phase = %v, want within (2.0, 2.5]", got)
	}
	if first.PasswordOps != nil {
		t.Errorf("password operations of a manager that does not count them: %v", first.PasswordOps)
	}
	if got := first.Get("not-a-controller"); got.Total() != 0 || !math.IsNaN(got.Time.Quantile(0.5)) {
		t.Errorf("a controller without metrics = %+v; want nothing counted and no quantile", got)
	}
}

func TestQuantileEdges(t *testing.T) {
	h := Histogram{Bounds: []float64{1, 2, 4}, Counts: []float64{0, 10, 10}, Count: 12}
	if got := h.Quantile(0.99); got != 4 {
		t.Errorf("a rank above the last bound = %v, want the last bound", got)
	}
	if got := h.Quantile(0.5); got != 1.6 {
		t.Errorf("p50 = %v, want 1.6 (6 of 10 into (1, 2])", got)
	}
	if got := (Histogram{Bounds: []float64{1}, Counts: []float64{0}}).Quantile(0.5); !math.IsNaN(got) {
		t.Errorf("an empty histogram's p50 = %v, want NaN", got)
	}
}

func TestScrape(t *testing.T) {
	r := newRegistry()
	r.reconcile("transferendpoint", "success", 0.2)
	srv := httptest.NewServer(promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	s, err := Scrape(context.Background(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if s.Get("transferendpoint").Total() != 1 {
		t.Errorf("scraped %+v", s.Controllers["transferendpoint"])
	}
	if _, err := Scrape(context.Background(), srv.Client(), srv.URL+"/nothing\x7f"); err == nil {
		t.Error("a bad URL gave no error")
	}
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	if _, err := Scrape(context.Background(), notFound.Client(), notFound.URL); err == nil {
		t.Error("a 404 gave no error")
	}
}

// A manager that counts its bcrypt operations (pier_manager_password_hashes_total{op}) has them read, and
// subtracted like the other counters.
func TestPasswordOps(t *testing.T) {
	r := newRegistry()
	ops := prometheus.NewCounterVec(prometheus.CounterOpts{Name: passwordOps}, []string{"op"})
	r.reg.MustRegister(ops)
	ops.WithLabelValues("hash").Add(1000)
	ops.WithLabelValues("compare")
	first := r.scrape(t)
	if first.PasswordOps["hash"] != 1000 || first.PasswordOps["compare"] != 0 || len(first.PasswordOps) != 2 {
		t.Errorf("first scrape: %v", first.PasswordOps)
	}
	ops.WithLabelValues("compare").Add(7)
	d := r.scrape(t).Since(first)
	if d.PasswordOps["hash"] != 0 || d.PasswordOps["compare"] != 7 {
		t.Errorf("since the first scrape: %v", d.PasswordOps)
	}
}
