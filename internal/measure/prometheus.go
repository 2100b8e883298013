// Package measure takes the measurements analyses ask for, outside the
// reconcile: it queries and reports what it got as a v1alpha1.Measurement,
// and never judges an analysis (internal/analysis does, from the records).
package measure

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
)

// Vars are what a query template may name ({{.UpdateRevision}}), and
// what a webhook check is told of the rollout.
type Vars struct {
	Rollout        string `json:"rollout"`
	Namespace      string `json:"namespace"`
	StableRevision string `json:"stableRevision"`
	UpdateRevision string `json:"updateRevision"`
	// Pods are the rollout's pod names, lowest ordinal first.
	Pods []string `json:"pods"`
}

// Prometheus measures Prometheus checks through Prometheus' HTTP API.
type Prometheus struct {
	// Hosts bounds the addresses a check may query (--allowed-hosts).
	Hosts egress.Hosts
	// Client makes the requests; the host list is applied to its redirects.
	Client *http.Client
}

// Measure runs a check's query at now and judges its result with the
// check's successCondition. What went wrong before there was a result (a
// host not allowed, a bad template or condition, Prometheus unreachable or
// refusing the query) is an Error measurement whose message says what; an
// empty result is Inconclusive. token, when not empty, is sent as a bearer
// token.
func (p Prometheus) Measure(ctx context.Context, check v1alpha1.PrometheusCheck, vars Vars, token string, now time.Time) v1alpha1.Measurement {
	m := v1alpha1.Measurement{At: metav1.NewTime(now)}
	fail := func(phase v1alpha1.MeasurementPhase, format string, args ...any) v1alpha1.Measurement {
		m.Phase, m.Message = phase, fmt.Sprintf(format, args...)
		return m
	}
	if err := p.Hosts.Check(check.Address); err != nil {
		return fail(v1alpha1.MeasurementError, "prometheus address %s: %v", check.Address, err)
	}
	query, err := render(check.Query, vars)
	if err != nil {
		return fail(v1alpha1.MeasurementError, "query template: %v", err)
	}
	condition, err := compile(check.SuccessCondition)
	if err != nil {
		return fail(v1alpha1.MeasurementError, "successCondition %q: %v", check.SuccessCondition, err)
	}
	client, err := api.NewClient(api.Config{Address: check.Address, Client: p.client(token)})
	if err != nil {
		return fail(v1alpha1.MeasurementError, "prometheus address %s: %v", check.Address, err)
	}
	value, _, _, err := promv1.NewAPI(client).Query(ctx, query, now)
	if err != nil {
		return fail(v1alpha1.MeasurementError, "query %s: %v", query, err)
	}
	result, text, err := resultOf(value)
	if err != nil {
		return fail(v1alpha1.MeasurementError, "query %s: %v", query, err)
	}
	if result == nil {
		return fail(v1alpha1.MeasurementInconclusive, "query %s returned an empty result", query)
	}
	m.Value = text
	out, _, err := condition.Eval(map[string]any{"result": result})
	if err != nil {
		return fail(v1alpha1.MeasurementError, "successCondition %q on %s: %v", check.SuccessCondition, text, err)
	}
	if pass, ok := out.Value().(bool); ok && pass {
		m.Phase = v1alpha1.MeasurementSuccessful
	} else {
		m.Phase = v1alpha1.MeasurementFailed
	}
	return m
}

// client is the HTTP client of one measurement, held to the host list and
// sending the token.
func (p Prometheus) client(token string) *http.Client {
	c := p.Hosts.Client(clientOr(p.Client))
	if token != "" {
		next := c.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		c.Transport = bearer{token: token, next: next}
	}
	return c
}

// bearer sends a bearer token with every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(req)
}

// render fills a query template in; a name the template uses that Vars
// lacks is an error, not an empty string in the query.
func render(query string, vars Vars) (string, error) {
	t, err := template.New("query").Option("missingkey=error").Parse(query)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, vars); err != nil {
		return "", err
	}
	return b.String(), nil
}

// compile makes a successCondition a program over result: a number, or a
// list of numbers for a vector of several samples.
func compile(condition string) (cel.Program, error) {
	env, err := cel.NewEnv(cel.Variable("result", cel.DynType))
	if err != nil {
		return nil, err
	}
	ast, issues := env.Compile(condition)
	if issues.Err() != nil {
		return nil, issues.Err()
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("is a %s, want a bool", ast.OutputType())
	}
	return env.Program(ast)
}

// resultOf is a query result as the condition sees it (nil when empty)
// and as text: a scalar or a one-sample vector is a number, a vector of
// several samples a list of numbers, in the order Prometheus returned.
func resultOf(value model.Value) (any, string, error) {
	switch v := value.(type) {
	case *model.Scalar:
		f := float64(v.Value)
		return f, format(f), nil
	case model.Vector:
		switch len(v) {
		case 0:
			return nil, "", nil
		case 1:
			f := float64(v[0].Value)
			return f, format(f), nil
		}
		samples := make([]float64, len(v))
		texts := make([]string, len(v))
		for i, s := range v {
			samples[i] = float64(s.Value)
			texts[i] = format(samples[i])
		}
		return samples, "[" + strings.Join(texts, ", ") + "]", nil
	}
	return nil, "", fmt.Errorf("returned a %s; want a scalar or an instant vector", value.Type())
}

func format(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }
