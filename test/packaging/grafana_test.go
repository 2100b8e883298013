package packaging

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sroll-dev/sroll/internal/controller"
	"github.com/sroll-dev/sroll/internal/measure"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

const grafanaDashboard = "docs/grafana/sroll.json"

// Every metric the Grafana dashboard's queries name is one the operator
// exports: the metrics are registered as the operator registers them
// (cmd/sroll-operator), and a histogram's _bucket, _sum and _count series
// count as its own.
func TestGrafanaDashboardNamesExportedMetrics(t *testing.T) {
	exported := operatorMetrics(t)

	data, err := os.ReadFile(filepath.Join(e2eutil.RepoRoot(), grafanaDashboard))
	if err != nil {
		t.Fatal(err)
	}
	var dashboard struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dashboard); err != nil {
		t.Fatalf("%s: %v", grafanaDashboard, err)
	}
	queries := map[string]string{}
	for _, p := range dashboard.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			queries[target.Expr] = "panel " + p.Title
		}
	}
	for _, v := range dashboard.Templating.List {
		if v.Definition != "" {
			queries[v.Definition] = "variable"
		}
	}
	used := map[string]bool{}
	for query, where := range queries {
		names := metricName.FindAllString(query, -1)
		if len(names) == 0 {
			t.Errorf("%s: query %q names no sroll metric", where, query)
		}
		for _, name := range names {
			if !exported[name] {
				t.Errorf("%s: query %q names %s, which the operator does not export", where, query, name)
			}
			used[name] = true
		}
	}
	// What the issue asks the dashboard to show.
	for _, want := range []string{
		"sroll_rollout_phase", "sroll_pods_deleted_total", "sroll_rollout_step", "sroll_notify_failed_total",
		"sroll_analysis_measurements_total", "sroll_snapshot_duration_seconds_bucket",
	} {
		if !used[want] {
			t.Errorf("no query shows %s", want)
		}
	}
}

var metricName = regexp.MustCompile(`\bsroll_[a-z_]+\b`)

// operatorMetrics are the names of the series the operator exports.
func operatorMetrics(t *testing.T) map[string]bool {
	reg := &recorder{Registry: prometheus.NewRegistry()}
	controller.NewMetrics(reg)
	notify.NewDispatcher(nil, notify.Options{Registerer: reg})
	measure.NewScheduler(measure.Options{Registerer: reg})

	names := map[string]bool{}
	for _, c := range reg.collectors {
		series := []string{""}
		switch c.(type) {
		case *prometheus.HistogramVec, prometheus.Histogram:
			series = []string{"_bucket", "_sum", "_count"}
		}
		descs := make(chan *prometheus.Desc, 16)
		go func() { c.Describe(descs); close(descs) }()
		for d := range descs {
			// A Desc shows its name only in its String: Desc{fqName: "…", …}.
			m := fqName.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("no name in %s", d)
			}
			for _, suffix := range series {
				names[m[1]+suffix] = true
			}
		}
	}
	if len(names) == 0 || !slices.ContainsFunc(keys(names), func(n string) bool { return strings.HasPrefix(n, "sroll_notify_") }) {
		t.Fatalf("exported metrics %v: want the controller's, the notifier's and the analysis scheduler's", keys(names))
	}
	return names
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// recorder keeps what is registered with it.
type recorder struct {
	*prometheus.Registry
	collectors []prometheus.Collector
}

func (r *recorder) Register(c prometheus.Collector) error {
	r.collectors = append(r.collectors, c)
	return r.Registry.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
