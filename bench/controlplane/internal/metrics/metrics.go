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

// Package metrics reads what controller-runtime says about its controllers on a manager's metrics endpoint
// (Prometheus' text format): reconciles by result, the reconcile-time histogram, the work queue's depth and the
// busy workers. It takes the difference of two scrapes, so that one phase of a run is measured on its own, and
// estimates quantiles from a histogram's buckets the way Prometheus' histogram_quantile does.
package metrics

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The controller-runtime metrics read here.
const (
	reconcileTotal = "controller_runtime_reconcile_total"
	reconcileTime  = "controller_runtime_reconcile_time_seconds"
	activeWorkers  = "controller_runtime_active_workers"
	queueDepth     = "workqueue_depth"
	queueWait      = "workqueue_queue_duration_seconds"
	// passwordOps is the manager's own count of bcrypt operations, by label op.
	passwordOps = "pier_manager_password_hashes_total"
)

// Histogram is a Prometheus histogram: cumulative counts of observations at most each upper bound.
type Histogram struct {
	Bounds []float64 // upper bounds, increasing, without +Inf
	Counts []float64 // Counts[i] observations were <= Bounds[i]
	Count  float64   // every observation, those above the last bound too
	Sum    float64
}

// Quantile estimates the q-quantile (0 <= q <= 1) as histogram_quantile does: it finds the bucket holding the
// rank q*Count and interpolates linearly inside it, from 0 for the first bucket. A rank above the last bound
// gives the last bound, the most the buckets can say. NaN without observations.
func (h Histogram) Quantile(q float64) float64 {
	if h.Count <= 0 || len(h.Bounds) == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	rank := q * h.Count
	for i, c := range h.Counts {
		if c >= rank && c > 0 {
			lower, below := 0.0, 0.0
			if i > 0 {
				lower, below = h.Bounds[i-1], h.Counts[i-1]
			}
			if c == below {
				return h.Bounds[i]
			}
			return lower + (h.Bounds[i]-lower)*(rank-below)/(c-below)
		}
	}
	return h.Bounds[len(h.Bounds)-1]
}

// minus is h less an earlier scrape of the same histogram; a histogram without buckets then is taken as empty.
func (h Histogram) minus(earlier Histogram) Histogram {
	out := Histogram{Bounds: slices.Clone(h.Bounds), Counts: slices.Clone(h.Counts), Count: h.Count - earlier.Count,
		Sum: h.Sum - earlier.Sum}
	if slices.Equal(h.Bounds, earlier.Bounds) {
		for i := range out.Counts {
			out.Counts[i] -= earlier.Counts[i]
		}
	}
	return out
}

// Controller is what one controller's metrics say.
type Controller struct {
	// Reconciles counts reconciles by result: success, error, requeue, requeue_after.
	Reconciles map[string]float64
	Time       Histogram
	// Wait is how long requests waited in the work queue before a worker took them.
	Wait Histogram
	// Depth is how many requests wait in the work queue now, Active how many workers reconcile now.
	Depth, Active float64
}

// Total is the number of reconciles, whatever their result.
func (c *Controller) Total() float64 {
	var n float64
	for _, v := range c.Reconciles {
		n += v
	}
	return n
}

// Snapshot is one scrape.
type Snapshot struct {
	// Controllers are every controller's metrics by controller name.
	Controllers map[string]*Controller
	// PasswordOps counts the manager's bcrypt operations on users' passwords by kind (hash, compare), from
	// pier_manager_password_hashes_total; nil for a manager that does not export it.
	PasswordOps map[string]float64
}

// Get is the named controller's metrics, empty when the scrape has none (a controller that has not started).
func (s Snapshot) Get(name string) *Controller {
	if c, ok := s.Controllers[name]; ok {
		return c
	}
	return &Controller{Reconciles: map[string]float64{}}
}

// Since is what happened between earlier and s, two scrapes of one process: counters and histograms less
// earlier's, gauges (depth, active workers) as s has them.
func (s Snapshot) Since(earlier Snapshot) Snapshot {
	out := Snapshot{Controllers: map[string]*Controller{}}
	for name, c := range s.Controllers {
		before := earlier.Get(name)
		d := &Controller{Reconciles: map[string]float64{}, Time: c.Time.minus(before.Time), Wait: c.Wait.minus(before.Wait),
			Depth: c.Depth, Active: c.Active}
		for result, v := range c.Reconciles {
			d.Reconciles[result] = v - before.Reconciles[result]
		}
		out.Controllers[name] = d
	}
	if s.PasswordOps != nil {
		out.PasswordOps = map[string]float64{}
		for op, v := range s.PasswordOps {
			out.PasswordOps[op] = v - earlier.PasswordOps[op]
		}
	}
	return out
}

// Parse reads a scrape in Prometheus' text format.
func Parse(r io.Reader) (Snapshot, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return Snapshot{}, fmt.Errorf("reading the metrics: %w", err)
	}
	s := Snapshot{Controllers: map[string]*Controller{}}
	controller := func(m *dto.Metric) *Controller {
		name := label(m, "controller")
		if name == "" {
			name = label(m, "name") // the work queue's metrics name the controller here too
		}
		c, ok := s.Controllers[name]
		if !ok {
			c = &Controller{Reconciles: map[string]float64{}}
			s.Controllers[name] = c
		}
		return c
	}
	for _, m := range families[reconcileTotal].GetMetric() {
		controller(m).Reconciles[label(m, "result")] += m.GetCounter().GetValue()
	}
	for _, m := range families[reconcileTime].GetMetric() {
		controller(m).Time = histogram(m.GetHistogram())
	}
	for _, m := range families[queueWait].GetMetric() {
		controller(m).Wait = histogram(m.GetHistogram())
	}
	for _, m := range families[activeWorkers].GetMetric() {
		controller(m).Active = m.GetGauge().GetValue()
	}
	for _, m := range families[queueDepth].GetMetric() {
		controller(m).Depth += m.GetGauge().GetValue() // one series per priority
	}
	if f, ok := families[passwordOps]; ok {
		s.PasswordOps = map[string]float64{}
		for _, m := range f.GetMetric() {
			s.PasswordOps[label(m, "op")] += m.GetCounter().GetValue()
		}
	}
	delete(s.Controllers, "")
	return s, nil
}

func histogram(h *dto.Histogram) Histogram {
	out := Histogram{Count: float64(h.GetSampleCount()), Sum: h.GetSampleSum()}
	for _, b := range h.GetBucket() {
		if math.IsInf(b.GetUpperBound(), 1) {
			continue
		}
		out.Bounds = append(out.Bounds, b.GetUpperBound())
		out.Counts = append(out.Counts, float64(b.GetCumulativeCount()))
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// Scrape fetches and parses url, a manager's /metrics.
func Scrape(ctx context.Context, client *http.Client, url string) (Snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Snapshot{}, err
	}
	// The text format: without it, a newer client library could answer in another.
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := client.Do(req)
	if err != nil {
		return Snapshot{}, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return Snapshot{}, fmt.Errorf("scraping %s: %s", url, resp.Status)
	}
	return Parse(resp.Body)
}
