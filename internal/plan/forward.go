package plan

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
	"github.com/sroll-dev/sroll/internal/names"
)

// forward walks the steps towards the target revision. Several steps can
// complete in one call (a pause that expired, a step whose pods are already
// updated); it stops at the first step with work left.
func (d *decider) forward(w world) {
	if w.current == w.target && !d.pods.anyOutdated(w.target) && (d.status.StableRevision == "" || d.status.StableRevision == w.target) {
		// Nothing to roll out (a new set, or every pod already runs the
		// stable template): steps and pauses would only be ceremony. A
		// rollout whose pods all reached a new revision still walks the
		// steps left: an analysis after 100% judges the new release.
		d.status.CurrentStepIndex = int32(len(d.steps))
	}
	if d.previous == v1alpha1.PhasePaused && !d.inPauseStep() {
		// Leaving a pause: the deadline counts from now.
		now := metav1.NewTime(d.now)
		d.status.ProgressedAt = &now
	}
	defer d.keepRecords()
	if d.backgroundFailed(w) {
		return
	}
	for {
		index := d.status.CurrentStepIndex
		if step := d.currentStep(); step != nil && step.Analysis != nil {
			if d.analyse(w, step.Analysis) {
				continue
			}
			return
		}
		if d.inPauseStep() {
			if d.pauseOver(d.steps[index].Pause) {
				d.advance()
				continue
			}
			d.plan.Partition = d.pin(w, w.partition)
			d.pause()
			return
		}
		goal := stepGoal(d.steps, index, d.replicas)
		budget := d.budget() - d.pods.unavailable()
		b := d.pods.nextBatch(goal, budget, w.target)
		partition := d.pin(w, b.lowest)
		if b.done && (w.current == w.target || partition <= goal) {
			if int(index) >= len(d.steps) {
				d.endAnalyses()
				d.complete(w.target)
				return
			}
			d.advance()
			continue
		}
		if len(b.delete) == 0 && d.deadlineExceeded() {
			d.degrade(w)
			return
		}
		d.plan.Partition = d.lookahead(w, goal, max(b.lowest, d.deleteBatch(b.delete)))
		d.progress(goal, w.target)
		d.timer(d.status.ProgressedAt.Add(d.deadline()).Sub(d.now))
		return
	}
}

func (d *decider) inPauseStep() bool {
	step := d.currentStep()
	return step != nil && step.Pause != nil
}

// currentStep is the step being worked on; nil for the final step.
func (d *decider) currentStep() *v1alpha1.RolloutStep {
	if i := int(d.status.CurrentStepIndex); i < len(d.steps) {
		return &d.steps[i]
	}
	return nil
}

func (d *decider) pauseOver(p *v1alpha1.PauseStep) bool {
	if p.Duration == nil {
		return false
	}
	end := d.status.StepStartedAt.Add(p.Duration.Duration)
	if d.now.Before(end) {
		d.timer(end.Sub(d.now))
		return false
	}
	return true
}

// pause waits in a pause step.
func (d *decider) pause() {
	step := d.steps[d.status.CurrentStepIndex]
	if step.Pause.Duration == nil {
		d.holdOn(HoldPauseStep, d.stepName(d.status.CurrentStepIndex)+": paused, waiting for promote")
	} else {
		end := d.status.StepStartedAt.Add(step.Pause.Duration.Duration)
		d.holdOn(HoldPauseStep, d.stepName(d.status.CurrentStepIndex)+": paused until "+end.UTC().Format(time.RFC3339))
	}
	if d.previous != v1alpha1.PhasePaused {
		d.event(corev1.EventTypeNormal, ReasonPaused, "%s", d.status.Message)
	}
}

// advance finishes the current step and starts the next one.
func (d *decider) advance() {
	d.event(corev1.EventTypeNormal, ReasonStepCompleted, "%s completed", d.stepName(d.status.CurrentStepIndex))
	d.status.CurrentStepIndex++
	now := metav1.NewTime(d.now)
	d.status.StepStartedAt, d.status.ProgressedAt = &now, &now
	if int(d.status.CurrentStepIndex) < len(d.steps) {
		d.event(corev1.EventTypeNormal, ReasonStepStarted, "%s started", d.stepName(d.status.CurrentStepIndex))
	}
}

func (d *decider) complete(target string) {
	d.moving(v1alpha1.PhaseCompleted, "every pod runs "+target)
	d.status.StableRevision = target
	d.plan.Partition = 0
	if d.previous != v1alpha1.PhaseCompleted {
		d.event(corev1.EventTypeNormal, ReasonCompleted, "Rollout to %s completed", target)
	}
}

// deleteBatch authorises the batch; deleting counts as progress, so the
// deadline restarts with each batch. It is where handover plugs in: work
// that must be done before a pod goes (the stop hook; a switchover, a
// Consul drain) is asked of its decider through Plan.Handover, and only
// pods whose handover is complete are deleted here. The partition must
// not authorise a pod still handing over either, or the StatefulSet
// controller would replace it itself: deleteBatch returns the lowest
// ordinal the partition may come down to (the first pod handing over, from
// the top, plus one; -1 when none is), and the pods below that pod wait
// with it, since deleted below the partition they would come back stable.
func (d *decider) deleteBatch(pods []Pod) int32 {
	deleted := make([]string, 0, len(pods))
	authorised := int32(-1)
	for _, p := range pods {
		if authorised >= 0 || !d.handedOver(p) {
			d.plan.Handover = append(d.plan.Handover, p.Ref.Name)
			authorised = max(authorised, p.Ordinal+1)
			continue
		}
		d.plan.Delete = append(d.plan.Delete, p.Ref)
		deleted = append(deleted, p.Ref.Name)
	}
	if len(deleted) == 0 {
		return authorised
	}
	now := metav1.NewTime(d.now)
	d.status.ProgressedAt = &now
	d.plan.Events = append(d.plan.Events, BatchDeleted(deleted))
	return authorised
}

// handedOver says whether what must happen before a pod of a batch goes
// is done: its replication member is stopped, and its Consul instance was
// drained for drainSeconds. A drain under way looks again when it ends.
func (d *decider) handedOver(p Pod) bool {
	done := true
	if gate := d.in.Replication; gate != nil && !gate.Stopped(p.Ref.Name) {
		done = false
	}
	if drained, left := d.in.Consul.Drained(p.Ref.Name, p.Ref.UID); !drained {
		done = false
		d.timer(left)
	}
	return done
}

// BatchDeleted is the event that says which pods a plan deleted. The
// controller records one for the batches of several plans whose status
// writes it deferred (their deletions did happen), naming all their pods.
func BatchDeleted(podNames []string) event.Event {
	sorted := slices.Sorted(slices.Values(podNames))
	return event.Event{Type: corev1.EventTypeNormal, Reason: ReasonBatchDeleted,
		Message: fmt.Sprintf("Deleted %d pods: %s", len(sorted), names.Summary(sorted))}
}

func (d *decider) deadline() time.Duration {
	return d.rollout.Spec.Rollout.ProgressDeadlineOrDefault()
}

func (d *decider) deadlineExceeded() bool {
	return d.status.ProgressedAt != nil && !d.now.Before(d.status.ProgressedAt.Add(d.deadline()))
}

// degrade stops a rollout that made no progress within the deadline.
func (d *decider) degrade(w world) {
	reason := "no progress for " + d.deadline().String() + ": " + d.stuckPods(w.target)
	d.event(corev1.EventTypeWarning, ReasonDegraded, "%s", reason)
	d.fail(w, RollbackDeadlineExceeded, reason)
}

// fail stops a failed rollout where it is (Degraded, held by the kind the
// rollback reason names) or, when asked to, rolls it back to the stable
// revision.
func (d *decider) fail(w world, rollbackReason, message string) {
	if d.rollout.Spec.Rollout.AutoRollback && d.status.StableRevision != "" && d.status.StableRevision != w.target {
		d.startRollback(rollbackReason, message)
		return
	}
	d.holdOn(failedHolds[rollbackReason], message)
	d.plan.Partition = w.partition
}

// failedHolds is the hold of a rollout failed for a rollback reason, before
// or after its rollback.
var failedHolds = map[string]HoldKind{
	RollbackDeadlineExceeded: HoldDeadline,
	RollbackAnalysisFailed:   HoldAnalysisFailed,
	RollbackAborted:          HoldAborted,
}
