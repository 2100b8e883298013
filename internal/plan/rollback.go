package plan

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// startRollback points the StatefulSet back at the stable revision, with
// every pod pinned until the rollback batches authorise them.
func (d *decider) startRollback(reason, message string) {
	d.status.RollbackReason = reason
	d.moving(v1alpha1.PhaseRollingBack, "rolling back to "+d.status.StableRevision+": "+message)
	d.setTemplate(RollbackHash(d.status.StableRevision), d.status.StableRevision, d.replicas)
	d.event(corev1.EventTypeWarning, ReasonRollbackStarted, "Rolling back to %s: %s", d.status.StableRevision, message)
}

// rollBack replaces every pod not on the stable revision, highest ordinal
// first, under the rollback budget. The StatefulSet's template is the stable
// one by now, so a pod that dies comes back stable: a rollback can't leak
// either.
func (d *decider) rollBack(w world) {
	budget := maxUnavailable(d.rollout.Spec.Rollout.RollbackMaxUnavailableOrDefault(), d.replicas) - d.pods.unavailable()
	b := d.pods.nextBatch(0, budget, w.target)
	d.plan.Partition = d.pin(w, b.lowest)
	if !b.done {
		d.moving(v1alpha1.PhaseRollingBack, d.status.Message)
		d.plan.Partition = d.pin(w, max(b.lowest, d.deleteBatch(b.delete)))
		return
	}
	d.plan.Partition = 0
	if d.previous != v1alpha1.PhaseRollingBack {
		return
	}
	if d.status.RollbackReason == RollbackAborted {
		d.holdOn(HoldAborted, "aborted: every pod runs the stable revision "+w.target+"; retry or change the template to go on")
	} else {
		// The message still says why the rollback started.
		d.holdOn(failedHolds[d.status.RollbackReason], "rolled back to "+strings.TrimPrefix(d.status.Message, "rolling back to "))
	}
	d.event(corev1.EventTypeNormal, ReasonRollbackCompleted, "%s", d.status.Message)
}
