package controller

import (
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/analysis"
	"github.com/sroll-dev/sroll/internal/measure"
	"github.com/sroll-dev/sroll/internal/plan"
)

// The measurement scheduler (internal/measure) meets the reconcile at two
// points: before the planner decides, the measurements taken since the
// last reconcile are recorded in the status the planner reads
// (recordMeasurements); after the plan was applied, the measurements it
// asks for are handed to the scheduler (scheduleMeasurements). A reconcile
// whose write fails gives the measurements back, so none is lost; the
// records in status carry the count across a restart.

// recordMeasurements is the rollout the planner decides on: rollout with
// the scheduler's new results appended to their records in
// status.analysis (analysis.Record), and the results it recorded. A result
// whose record is gone (its analysis ended) is dropped. rollout itself is
// left as read: the status write compares with it.
func (r *Reconciler) recordMeasurements(rollout *v1alpha1.StatefulSetRollout) (*v1alpha1.StatefulSetRollout, []measure.Result) {
	if r.Measures == nil {
		return rollout, nil
	}
	results := r.Measures.Observe(client.ObjectKeyFromObject(rollout))
	if len(results) == 0 {
		return rollout, nil
	}
	measured := rollout.DeepCopy()
	var recorded []measure.Result
	for _, result := range results {
		i := slices.IndexFunc(measured.Status.Analysis, result.Is)
		if i < 0 {
			continue
		}
		analysis.Record(&measured.Status.Analysis[i], result.Measurement)
		recorded = append(recorded, result)
	}
	return measured, recorded
}

// scheduleMeasurements hands the scheduler the measurements a plan whose
// status is written asks for, with what a query may name of the rollout.
func (r *Reconciler) scheduleMeasurements(rollout *v1alpha1.StatefulSetRollout, p plan.Plan) {
	if r.Measures == nil {
		return
	}
	vars := measure.Vars{
		Rollout: rollout.Name, Namespace: rollout.Namespace,
		StableRevision: p.Status.StableRevision, UpdateRevision: p.Status.UpdateRevision,
	}
	for _, pod := range p.View.Pods {
		vars.Pods = append(vars.Pods, pod.Ref.Name)
	}
	r.Measures.Schedule(rollout, vars, p.Measure)
}
