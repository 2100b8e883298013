package measure_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/measure"
)

// prometheus is a local server answering Prometheus' instant query API
// (POST /api/v1/query, as the client sends it) with the JSON result set
// for each query, and remembering the Authorization header it was sent.
type prometheus struct {
	results map[string]string // query -> data, as Prometheus encodes it
	auth    string
}

func (p *prometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.auth = r.Header.Get("Authorization")
	data, ok := p.results[r.Form.Get("query")]
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"unknown query: %s"}`, r.Form.Get("query"))
		return
	}
	fmt.Fprintf(w, `{"status":"success","data":%s}`, data)
}

func vector(values ...string) string {
	samples := make([]string, len(values))
	for i, v := range values {
		samples[i] = fmt.Sprintf(`{"metric":{"pod":"kv-%d"},"value":[1767225600,%q]}`, i, v)
	}
	return `{"resultType":"vector","result":[` + strings.Join(samples, ",") + `]}`
}

func TestPrometheusMeasure(t *testing.T) {
	server := &prometheus{results: map[string]string{
		`errors{revision="kv-v2"}`: vector("0.1"),
		`errors{revision="kv-v3"}`: vector("0.7"),
		`errors{revision="kv-v4"}`: vector(),
		`per_pod`:                  vector("0.1", "0.2"),
		`scalar(1)`:                `{"resultType":"scalar","result":[1767225600,"1"]}`,
		`range[1m]`:                `{"resultType":"matrix","result":[]}`,
	}}
	srv := httptest.NewServer(server)
	defer srv.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := measure.Prometheus{Hosts: egress.MustParseHosts("127.0.0.1")}

	for _, tc := range []struct {
		name, address, query, condition string
		vars                            measure.Vars
		phase                           v1alpha1.MeasurementPhase
		value, message                  string
	}{
		{"within the condition", srv.URL, `errors{revision="{{.UpdateRevision}}"}`, "result < 0.5",
			measure.Vars{UpdateRevision: "kv-v2"}, v1alpha1.MeasurementSuccessful, "0.1", ""},
		{"outside the condition", srv.URL, `errors{revision="{{.UpdateRevision}}"}`, "result < 0.5",
			measure.Vars{UpdateRevision: "kv-v3"}, v1alpha1.MeasurementFailed, "0.7", ""},
		{"empty vector", srv.URL, `errors{revision="{{.UpdateRevision}}"}`, "result < 0.5",
			measure.Vars{UpdateRevision: "kv-v4"}, v1alpha1.MeasurementInconclusive, "", "returned an empty result"},
		{"vector of several samples", srv.URL, "per_pod", "result.all(x, x < 0.5)",
			measure.Vars{}, v1alpha1.MeasurementSuccessful, "[0.1, 0.2]", ""},
		{"scalar", srv.URL, "scalar(1)", "result == 1.0",
			measure.Vars{}, v1alpha1.MeasurementSuccessful, "1", ""},
		{"range vector", srv.URL, "range[1m]", "result < 0.5",
			measure.Vars{}, v1alpha1.MeasurementError, "", "returned a matrix; want a scalar or an instant vector"},
		{"query refused", srv.URL, "nonsense", "result < 0.5",
			measure.Vars{}, v1alpha1.MeasurementError, "", "unknown query"},
		{"template naming an unknown field", srv.URL, `errors{revision="{{.Revision}}"}`, "result < 0.5",
			measure.Vars{}, v1alpha1.MeasurementError, "", "query template"},
		{"condition that does not compile", srv.URL, "per_pod", "result <",
			measure.Vars{}, v1alpha1.MeasurementError, "", `successCondition "result <"`},
		{"condition that is not a bool", srv.URL, "per_pod", "'yes'",
			measure.Vars{}, v1alpha1.MeasurementError, "", "want a bool"},
		{"host not allowed", "http://prometheus.example:9090", "per_pod", "result < 0.5",
			measure.Vars{}, v1alpha1.MeasurementError, "", `host "prometheus.example" is not in the operator's --allowed-hosts (127.0.0.1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := v1alpha1.PrometheusCheck{Address: tc.address, Query: tc.query, SuccessCondition: tc.condition}
			m := p.Measure(context.Background(), check, tc.vars, "", now)
			if m.Phase != tc.phase || m.Value != tc.value || !strings.Contains(m.Message, tc.message) || !m.At.Time.Equal(now) {
				t.Fatalf("measured %+v; want phase %s, value %q, a message containing %q, at %s", m, tc.phase, tc.value, tc.message, now)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()
		check := v1alpha1.PrometheusCheck{Address: closed.URL, Query: "per_pod", SuccessCondition: "result < 0.5"}
		m := p.Measure(context.Background(), check, measure.Vars{}, "", now)
		if m.Phase != v1alpha1.MeasurementError || !strings.Contains(m.Message, "connection refused") {
			t.Fatalf("measured %+v; want an Error saying the connection was refused", m)
		}
	})

	t.Run("bearer token", func(t *testing.T) {
		check := v1alpha1.PrometheusCheck{Address: srv.URL, Query: "per_pod", SuccessCondition: "true"}
		p.Measure(context.Background(), check, measure.Vars{}, "s3cret", now)
		if server.auth != "Bearer s3cret" {
			t.Fatalf("Authorization %q; want Bearer s3cret", server.auth)
		}
	})
}
