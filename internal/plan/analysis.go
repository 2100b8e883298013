package plan

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/analysis"
)

// analyse waits in an analysis step for its verdict (internal/analysis):
// true when the step passed and the walk goes on. Pods stay as the step
// before left them; a promote passes the step whatever was measured.
func (d *decider) analyse(w world, a *v1alpha1.Analysis) bool {
	index := d.status.CurrentStepIndex
	kept := len(d.records)
	r := d.judge(*a, false, index, d.status.StepStartedAt)
	switch r.Verdict {
	case analysis.Pass:
		// The analysis ended: its records go with it.
		d.records = d.records[:kept]
		d.event(corev1.EventTypeNormal, ReasonAnalysisPassed, "%s: %s", d.stepName(index), r.Message)
		d.advance()
		return true
	case analysis.Fail:
		d.failAnalysis(w, d.stepName(index)+": "+r.Message)
		return false
	}
	d.plan.Partition = d.pin(w, w.partition)
	d.holdOn(HoldAnalysis, d.stepName(index)+": "+r.Message)
	return false
}

// backgroundFailed judges the background analysis, which runs while any
// step after the first does (the first step puts the first pods on the
// new revision), and fails the rollout when it failed.
func (d *decider) backgroundFailed(w world) bool {
	a := d.rollout.Spec.Rollout.Analysis
	if a == nil || d.status.CurrentStepIndex < 1 || d.status.Phase == v1alpha1.PhaseCompleted {
		return false
	}
	r := d.judge(*a, true, 0, nil)
	if r.Verdict != analysis.Fail {
		return false
	}
	d.failAnalysis(w, "background analysis: "+r.Message)
	return true
}

// endAnalyses ends the background analysis with the rollout it watched:
// its records leave status, and nothing more is measured.
func (d *decider) endAnalyses() {
	d.records = nil
	d.plan.Measure = nil
}

// failAnalysis fails the rollout on a failed analysis.
func (d *decider) failAnalysis(w world, message string) {
	d.event(corev1.EventTypeWarning, ReasonAnalysisFailed, "%s", message)
	d.fail(w, RollbackAnalysisFailed, message)
}

// judge asks the analysis decider about one analysis, with its records
// from status (a record is created, empty, when the analysis starts at
// startedAt, or now), and asks for the measurements it says are due.
func (d *decider) judge(a v1alpha1.Analysis, background bool, step int32, startedAt *metav1.Time) analysis.Result {
	started := metav1.NewTime(d.now)
	if startedAt != nil {
		started = *startedAt
	}
	var records []v1alpha1.CheckRecord
	for _, check := range a.Checks {
		records = append(records, d.record(check, background, step, started))
	}
	d.records = append(d.records, records...)
	r := analysis.Decide(analysis.Input{
		Analysis:   a,
		Checks:     d.rollout.Spec.Rollout.Checks,
		Records:    records,
		Background: background,
	})
	for _, due := range r.Due {
		d.plan.Measure = append(d.plan.Measure, Measure{Check: due.Check, Background: background, Step: step, At: due.At})
	}
	return r
}

// record is the status record of a check of an analysis, or a new one.
func (d *decider) record(check string, background bool, step int32, started metav1.Time) v1alpha1.CheckRecord {
	for _, rec := range d.status.Analysis {
		if rec.Check == check && rec.Background == background && (background || rec.Step == step) {
			return *rec.DeepCopy()
		}
	}
	rec := v1alpha1.CheckRecord{Check: check, Background: background, StartedAt: started}
	if !background {
		rec.Step = step
	}
	return rec
}

// keepRecords keeps in status the records of the analyses judged this
// time alone: those of an analysis that ended (a step passed, the rollout
// completed) are dropped. A rollout that failed or stopped moving forward
// keeps its records as they are, so they still show what failed.
func (d *decider) keepRecords() {
	d.status.Analysis = d.records
}
