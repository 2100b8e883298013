package analysis_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/analysis"
)

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestScenarios runs the scripts in testdata/:
//
//	analysis checks=(error-rate,latency) interval=10 count=3 failure-limit=1 inconclusive-limit=1 [background]
//	measure check=error-rate phase=Failed [value=0.7]   (the input, if any, is the message)
//	tick 10s
//	decide
//	record check=error-rate
//
// `go test ./internal/analysis -rewrite` regenerates the expected output
// for a human to review.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var w world
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "analysis":
				w = newWorld(t, d)
			case "measure":
				var check, phase, value string
				d.ScanArgs(t, "check", &check)
				d.ScanArgs(t, "phase", &phase)
				if d.HasArg("value") {
					d.ScanArgs(t, "value", &value)
				}
				analysis.Record(w.record(check), v1alpha1.Measurement{
					Phase: v1alpha1.MeasurementPhase(phase), Value: value,
					Message: strings.TrimSpace(d.Input), At: metav1.NewTime(w.now),
				})
			case "tick":
				by, err := time.ParseDuration(d.CmdArgs[0].Key)
				if err != nil {
					t.Fatal(err)
				}
				w.now = w.now.Add(by)
			case "decide":
				return w.decide()
			case "record":
				var check string
				d.ScanArgs(t, "check", &check)
				rec := w.record(check)
				return fmt.Sprintf("count=%d successful=%d failed=%d inconclusive=%d error=%d kept=%d\n",
					rec.Count, rec.Successful, rec.Failed, rec.Inconclusive, rec.Error, len(rec.Measurements))
			default:
				t.Fatalf("unknown command %q", d.Cmd)
			}
			return ""
		})
	})
}

// world is one analysis, its checks' records and the clock.
type world struct {
	in      analysis.Input
	records []v1alpha1.CheckRecord
	now     time.Time
}

func newWorld(t *testing.T, d *datadriven.TestData) world {
	var a v1alpha1.Analysis
	for _, arg := range d.CmdArgs {
		if arg.Key == "checks" {
			a.Checks = arg.Vals
		}
	}
	if d.HasArg("interval") {
		a.IntervalSeconds = ptr.To(intArg(t, d, "interval"))
	}
	if d.HasArg("count") {
		a.Count = ptr.To(intArg(t, d, "count"))
	}
	a.FailureLimit, a.InconclusiveLimit = intArg(t, d, "failure-limit"), intArg(t, d, "inconclusive-limit")
	w := world{now: start, in: analysis.Input{Analysis: a, Background: d.HasArg("background")}}
	for _, name := range a.Checks {
		w.in.Checks = append(w.in.Checks, v1alpha1.Check{Name: name, Prometheus: &v1alpha1.PrometheusCheck{
			Address: "http://prometheus:9090", Query: name, SuccessCondition: "result < 0.5",
		}})
		w.records = append(w.records, v1alpha1.CheckRecord{Check: name, Background: w.in.Background, StartedAt: metav1.NewTime(start)})
	}
	return w
}

func (w *world) record(check string) *v1alpha1.CheckRecord {
	for i := range w.records {
		if w.records[i].Check == check {
			return &w.records[i]
		}
	}
	panic("no check " + check)
}

func (w *world) decide() string {
	in := w.in
	in.Records = w.records
	r := analysis.Decide(in)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", r.Verdict, r.Message)
	for _, due := range r.Due {
		fmt.Fprintf(&b, "due: %s at +%s\n", due.Check, due.At.Sub(start))
	}
	return b.String()
}

// intArg is key=N, 0 when absent.
func intArg(t *testing.T, d *datadriven.TestData, key string) int32 {
	var n int
	if d.HasArg(key) {
		d.ScanArgs(t, key, &n)
	}
	return int32(n)
}
