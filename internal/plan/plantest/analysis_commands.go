package plantest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/analysis"
	"github.com/sroll-dev/sroll/internal/plan"
)

// analysisCommands set analyses up and play the measurement effector:
//
//	analysis step=1 checks=(error-rate) interval=10 count=3 failure-limit=1 inconclusive-limit=0
//	analysis background checks=(error-rate) interval=30
//	measure phase=Failed value=0.7 [check=error-rate]   (the input, if any, is the message)
//	records (print status.analysis)
//
// analysis makes step N an analysis step (or sets the background
// analysis) and defines each check it names as a Prometheus check whose
// condition is `result < 0.5`. measure takes the measurements the last
// plan asked for that are due by now (of one check, with check=), all with
// the given result, and records them in status as the effector does.
func analysisCommands(s *Sim, t *testing.T, d *datadriven.TestData) (string, bool) {
	switch d.Cmd {
	case "analysis":
		a := &v1alpha1.Analysis{Checks: listArg(d, "checks")}
		if d.HasArg("interval") {
			a.IntervalSeconds = ptr.To(int32(intArg(d, "interval", 0)))
		}
		if d.HasArg("count") {
			a.Count = ptr.To(int32(intArg(d, "count", 0)))
		}
		a.FailureLimit = int32(intArg(d, "failure-limit", 0))
		a.InconclusiveLimit = int32(intArg(d, "inconclusive-limit", 0))
		spec := &s.Rollout.Spec.Rollout
		if d.HasArg("background") {
			spec.Analysis = a
		} else {
			spec.Steps[intArg(d, "step", 0)] = v1alpha1.RolloutStep{Analysis: a}
		}
		for _, name := range a.Checks {
			s.defineCheck(name)
		}
		s.Rollout.Generation++
	case "measure":
		return s.measure(t, d), true
	case "records":
		return s.describeRecords(), true
	default:
		return "", false
	}
	return "", true
}

func (s *Sim) defineCheck(name string) {
	spec := &s.Rollout.Spec.Rollout
	for _, c := range spec.Checks {
		if c.Name == name {
			return
		}
	}
	spec.Checks = append(spec.Checks, v1alpha1.Check{Name: name, Prometheus: &v1alpha1.PrometheusCheck{
		Address: "http://prometheus:9090", Query: name, SuccessCondition: "result < 0.5",
	}})
}

// measure records the due measurements; it prints what it measured.
func (s *Sim) measure(t *testing.T, d *datadriven.TestData) string {
	result := v1alpha1.Measurement{
		Phase:   v1alpha1.MeasurementPhase(strArg(d, "phase", "")),
		Value:   strArg(d, "value", ""),
		Message: strings.TrimSpace(d.Input),
		At:      metav1.NewTime(s.Now),
	}
	only := strArg(d, "check", "")
	var measured []string
	for _, m := range s.last.Measure {
		if m.At.After(s.Now) || (only != "" && m.Check != only) {
			continue
		}
		rec := s.recordOf(m)
		if rec == nil {
			t.Fatalf("no record in status for %s", measureName(m))
		}
		analysis.Record(rec, result)
		measured = append(measured, measureName(m))
	}
	if len(measured) == 0 {
		t.Fatalf("no measurement due at %s", s.Now.Format("15:04:05"))
	}
	return "measured " + strings.Join(measured, ", ") + "\n"
}

func (s *Sim) describeRecords() string {
	if len(s.Rollout.Status.Analysis) == 0 {
		return "none\n"
	}
	var b strings.Builder
	for _, rec := range s.Rollout.Status.Analysis {
		fmt.Fprintf(&b, "%s: count=%d failed=%d inconclusive=%d error=%d kept=%d\n",
			measureName(plan.Measure{Check: rec.Check, Background: rec.Background, Step: rec.Step}),
			rec.Count, rec.Failed, rec.Inconclusive, rec.Error, len(rec.Measurements))
	}
	return b.String()
}

// record is the status record a measurement goes to, as the effector finds it.
func (s *Sim) recordOf(m plan.Measure) *v1alpha1.CheckRecord {
	for i := range s.Rollout.Status.Analysis {
		rec := &s.Rollout.Status.Analysis[i]
		if rec.Check == m.Check && rec.Background == m.Background && rec.Step == m.Step {
			return rec
		}
	}
	return nil
}

// measureName is a measurement as scenario output shows it:
// "error-rate (step 2)", "error-rate (background)".
func measureName(m plan.Measure) string { return analysis.Name(m.Check, m.Background, m.Step) }

// listArg reads key=(a,b) as a list.
func listArg(d *datadriven.TestData, key string) []string {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			return a.Vals
		}
	}
	return nil
}
