// Package analysis decides whether an analysis passes, fails or waits, from
// the measurements recorded in the rollout's status. It is pure: the
// measurement effector takes the measurements and records them
// (Record); the rollout planner asks Decide for the verdict and acts on it.
//
// The counting is Argo Rollouts' AnalysisRun's: each check counts its
// Successful, Failed, Inconclusive and Error measurements since the
// analysis started; more Failed than failureLimit fails it, more
// Inconclusive and Error together than inconclusiveLimit fails it (sroll
// does not pause on an inconclusive analysis: the limit is the patience),
// and a step analysis passes once every check took count measurements
// within its limits. The background analysis never passes: it runs until
// the rollout completes.
package analysis

import (
	"fmt"
	"strings"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Verdict is what an analysis says of the rollout now.
type Verdict int

const (
	// Wait: measurements are still due.
	Wait Verdict = iota + 1
	// Pass: every check took its count of measurements within its limits.
	Pass
	// Fail: a check went over a limit.
	Fail
)

func (v Verdict) String() string {
	switch v {
	case Wait:
		return "wait"
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Input is one analysis and what was measured of it.
type Input struct {
	Analysis v1alpha1.Analysis
	// Checks is spec.rollout.checks: the conditions messages name.
	Checks []v1alpha1.Check
	// Records are this analysis' records, one per check: a check's first
	// measurement is due at its record's StartedAt (a check without a
	// record: now).
	Records []v1alpha1.CheckRecord
	// Background is true for spec.rollout.analysis, which never passes.
	Background bool
}

// Result is the verdict and what it rests on.
type Result struct {
	Verdict Verdict
	// Message names the check, the measured value and the condition of a
	// failure, the counts of a pass, or what is still measured.
	Message string
	// Due are the next measurements to take, one per check still measured,
	// in the analysis' order; none once the analysis passed or failed. A
	// measurement due in the past is due now.
	Due []Due
}

// Due is when the next measurement of a check is due.
type Due struct {
	Check string
	At    time.Time
}

// Decide judges an analysis: the first check over a limit fails it, in the
// analysis' order of checks; it passes when every check passed.
func Decide(in Input) Result {
	var measuring []string
	var due []Due
	var passed []string
	for _, name := range in.Analysis.Checks {
		rec := in.record(name)
		if msg, failed := in.overLimit(rec); failed {
			return Result{Verdict: Fail, Message: msg}
		}
		count := in.Analysis.CountOrDefault()
		if !in.Background && count > 0 && rec.Count >= count {
			passed = append(passed, fmt.Sprintf("%s %s", name, counts(rec)))
			continue
		}
		due = append(due, Due{Check: name, At: in.nextAt(rec)})
		measuring = append(measuring, fmt.Sprintf("%s %s", name, in.progress(rec)))
	}
	if len(due) == 0 {
		return Result{Verdict: Pass, Message: "analysis passed: " + strings.Join(passed, ", ")}
	}
	return Result{Verdict: Wait, Message: "measuring " + strings.Join(measuring, ", "), Due: due}
}

// record is the check's record, or an empty one started with the analysis.
func (in Input) record(name string) v1alpha1.CheckRecord {
	for _, rec := range in.Records {
		if rec.Check == name {
			return rec
		}
	}
	return v1alpha1.CheckRecord{Check: name}
}

// overLimit says why a check failed the analysis, if it did.
func (in Input) overLimit(rec v1alpha1.CheckRecord) (string, bool) {
	a := in.Analysis
	if rec.Failed > a.FailureLimit {
		last := lastOf(rec, v1alpha1.MeasurementFailed)
		return fmt.Sprintf("check %s failed: %d of %d measurements failed, more than failureLimit %d; last measured %s, condition %s",
			rec.Check, rec.Failed, rec.Count, a.FailureLimit, valueOf(last), in.condition(rec.Check)), true
	}
	if undecided := rec.Inconclusive + rec.Error; undecided > a.InconclusiveLimit {
		last := lastOf(rec, v1alpha1.MeasurementInconclusive, v1alpha1.MeasurementError)
		msg := fmt.Sprintf("check %s gave no verdict: %d of %d measurements inconclusive or in error, more than inconclusiveLimit %d",
			rec.Check, undecided, rec.Count+rec.Error, a.InconclusiveLimit)
		if last != nil && last.Message != "" {
			msg += "; last: " + last.Message
		}
		return msg, true
	}
	return "", false
}

// nextAt is when the check is measured next: at the start, then an
// interval after the last measurement.
func (in Input) nextAt(rec v1alpha1.CheckRecord) time.Time {
	if len(rec.Measurements) == 0 {
		return rec.StartedAt.Time
	}
	return rec.Measurements[len(rec.Measurements)-1].At.Add(in.Analysis.IntervalOrDefault())
}

// progress is how far a check is measured: "2/6 measured, last 0.12
// (Successful)", "14 measured until promoted, ...".
func (in Input) progress(rec v1alpha1.CheckRecord) string {
	taken := fmt.Sprintf("%d measured", rec.Count)
	switch count := in.Analysis.CountOrDefault(); {
	case in.Background:
	case count == 0:
		taken += " until promoted"
	default:
		taken = fmt.Sprintf("%d/%d measured", rec.Count, count)
	}
	if n := len(rec.Measurements); n > 0 {
		last := rec.Measurements[n-1]
		taken += fmt.Sprintf(", last %s (%s)", valueOf(&last), last.Phase)
	}
	return taken
}

// condition is what a check's measurement must satisfy, for messages.
func (in Input) condition(name string) string {
	for _, c := range in.Checks {
		switch {
		case c.Name != name:
		case c.Prometheus != nil:
			return c.Prometheus.SuccessCondition
		case c.Webhook != nil:
			return "webhook " + c.Webhook.URL + ` answers {"pass": true}`
		}
	}
	return "unknown"
}

// counts is a passed check's tally: "(6 measured, 1 failed, 0 inconclusive)".
func counts(rec v1alpha1.CheckRecord) string {
	return fmt.Sprintf("(%d measured, %d failed, %d inconclusive)", rec.Count, rec.Failed, rec.Inconclusive+rec.Error)
}

// lastOf is the newest kept measurement in one of the phases; nil when
// none is kept.
func lastOf(rec v1alpha1.CheckRecord, phases ...v1alpha1.MeasurementPhase) *v1alpha1.Measurement {
	for i := len(rec.Measurements) - 1; i >= 0; i-- {
		for _, p := range phases {
			if rec.Measurements[i].Phase == p {
				return &rec.Measurements[i]
			}
		}
	}
	return nil
}

func valueOf(m *v1alpha1.Measurement) string {
	if m == nil || m.Value == "" {
		return "no value"
	}
	return m.Value
}
