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

// Package monitoring tests pier's alerts and Grafana dashboard (config/monitoring): every query parses as PromQL,
// names only metrics that pier exports (or that kube-state-metrics does, where a rule says so), and the alerts
// fire when they should, with promtool's rule tests. It is a module of its own so that the Prometheus module it
// needs for the PromQL parser does not raise the versions of pier's own dependencies.
package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// promQL parses with Prometheus' default options: no experimental functions, which a Prometheus that runs
// with default flags would refuse.
var promQL = parser.NewParser(parser.Options{})

// repoRoot is pier's top folder, two up from this module.
var repoRoot = filepath.Join("..", "..")

// query is one PromQL expression and where it comes from, for messages.
type query struct{ where, expr string }

// ruleGroups reads the PrometheusRule's groups.
func ruleGroups(t *testing.T) []ruleGroup {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "config", "monitoring", "alerts", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       struct {
			Groups []ruleGroup `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(data, &rule); err != nil {
		t.Fatalf("prometheusrule.yaml: %v", err)
	}
	if rule.Kind != "PrometheusRule" || len(rule.Spec.Groups) == 0 {
		t.Fatalf("prometheusrule.yaml is a %q with %d groups", rule.Kind, len(rule.Spec.Groups))
	}
	return rule.Spec.Groups
}

type ruleGroup struct {
	Name  string `json:"name"`
	Rules []rule `json:"rules"`
}

type rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func ruleQueries(t *testing.T) []query {
	t.Helper()
	var out []query
	for _, g := range ruleGroups(t) {
		for _, r := range g.Rules {
			out = append(out, query{where: "alert " + r.Alert, expr: r.Expr})
		}
	}
	return out
}

// grafanaVariables are replaced by values of the same kind before parsing, as Grafana does before it sends a
// query: a duration for $__rate_interval, a regular expression for the multi-value variables.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$namespace", ".*", "$endpoint", ".*")

// labelValues is Grafana's label_values(selector, label) variable query, which is not PromQL.
var labelValues = regexp.MustCompile(`^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

func dashboardQueries(t *testing.T) []query {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "config", "monitoring", "dashboards", "pier.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name  string
				Type  string
				Query json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("pier.json: %v", err)
	}
	var out []query
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			out = append(out, query{where: fmt.Sprintf("panel %q", p.Title), expr: grafanaVariables.Replace(target.Expr)})
		}
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(selector, label)", v.Name, q.Query)
			continue
		}
		out = append(out, query{where: "variable " + v.Name, expr: grafanaVariables.Replace(m[1])})
	}
	return out
}

// metricNames are the metric names the expression selects.
func metricNames(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		names = append(names, name)
		return nil
	})
	return names
}

// Every query of the alerts and the dashboard parses, and names metrics that exist: a renamed metric must not
// leave an alert that can never fire or a panel that is always empty.
func TestQueriesUseExportedMetrics(t *testing.T) {
	exported := exportedNames(t)
	queries := append(ruleQueries(t), dashboardQueries(t)...)
	if len(queries) < 20 {
		t.Fatalf("only %d queries found; the files' layout changed under this test", len(queries))
	}
	used := map[string]bool{}
	for _, q := range queries {
		expr, err := promQL.ParseExpr(q.expr)
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", q.where, q.expr, err)
			continue
		}
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: %q selects no metric by name", q.where, q.expr)
		}
		for _, name := range names {
			used[name] = true
			if !exported[name] && externalMetrics[name] == "" {
				t.Errorf("%s: %s is not a metric pier exports (nor a known external one)", q.where, name)
			}
		}
	}
	list := make([]string, 0, len(used))
	for name := range used {
		list = append(list, name)
	}
	sort.Strings(list)
	t.Logf("metrics used: %s", strings.Join(list, " "))
}

// The checker itself must catch a wrong name, or the test above could pass for nothing.
func TestCheckerCatchesUnknownNames(t *testing.T) {
	exported := exportedNames(t)
	expr, err := promQL.ParseExpr(`rate(pier_logins_totl[5m]) + pier_endpoint_ready`)
	if err != nil {
		t.Fatal(err)
	}
	var unknown []string
	for _, name := range metricNames(expr) {
		if !exported[name] {
			unknown = append(unknown, name)
		}
	}
	if fmt.Sprint(unknown) != "[pier_logins_totl]" {
		t.Errorf("unknown names %v, want [pier_logins_totl]", unknown)
	}
	if _, err := promQL.ParseExpr(grafanaVariables.Replace(`sum by (le) (rate(x{a=~"$namespace"}[$__rate_interval])`)); err == nil {
		t.Error("an unbalanced query parsed")
	}
}
