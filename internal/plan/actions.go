package plan

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// handleActions carries out each action annotation once per value. The value
// acted on is kept in status, so a request is not repeated if removing its
// annotation fails; a value no longer annotated is forgotten, so the same
// value can ask again later.
func (d *decider) handleActions() {
	annotations := d.rollout.Annotations
	handled := map[string]string{}
	for _, key := range v1alpha1.Actions {
		value, ok := annotations[key]
		if !ok {
			continue
		}
		if d.status.HandledActions[key] != value {
			d.act(key)
		}
		handled[key] = value
		d.plan.HandledActions = append(d.plan.HandledActions, key)
	}
	if len(handled) == 0 {
		handled = nil
	}
	d.status.HandledActions = handled
}

func (d *decider) act(key string) {
	phase := d.status.Phase
	rollingBack := d.status.RollbackReason != ""
	forward := !rollingBack && (phase == v1alpha1.PhaseProgressing || phase == v1alpha1.PhasePaused)
	switch key {
	case v1alpha1.AnnotationPromote:
		if !forward {
			d.ignore("promote", "only a Progressing or Paused rollout can be promoted; retry or abort it")
			return
		}
		if int(d.status.CurrentStepIndex) >= len(d.steps) {
			d.ignore("promote", "there is no step left to promote")
			return
		}
		d.event(corev1.EventTypeNormal, ReasonPromoted, "Promoted past %s", d.stepName(d.status.CurrentStepIndex))
		d.advance()
	case v1alpha1.AnnotationPromoteFull:
		if !forward {
			d.ignore("promote-full", "only a Progressing or Paused rollout can be promoted; retry or abort it")
			return
		}
		d.event(corev1.EventTypeNormal, ReasonPromoted, "Promoted to the end: every remaining step skipped")
		d.status.CurrentStepIndex = int32(len(d.steps))
		now := metav1.NewTime(d.now)
		d.status.StepStartedAt, d.status.ProgressedAt = &now, &now
	case v1alpha1.AnnotationAbort:
		if rollingBack || phase == v1alpha1.PhaseCompleted || d.status.StableRevision == "" {
			d.ignore("abort", "there is no rollout in flight with a stable revision to go back to")
			return
		}
		d.event(corev1.EventTypeWarning, ReasonAborted, "Rollout aborted")
		d.startRollback(RollbackAborted, "aborted by request")
	case v1alpha1.AnnotationRetry:
		if !rollingBack && phase != v1alpha1.PhaseDegraded && phase != v1alpha1.PhaseAborted {
			d.ignore("retry", "only a Degraded or Aborted rollout can be retried")
			return
		}
		d.status.RollbackReason = ""
		d.status.CurrentStepIndex = 0
		d.moving(v1alpha1.PhaseProgressing, d.status.Message)
		now := metav1.NewTime(d.now)
		// A retry is a new attempt: notifications tell it apart by StartedAt.
		d.status.StartedAt, d.status.StepStartedAt, d.status.ProgressedAt = &now, &now, &now
		d.event(corev1.EventTypeNormal, ReasonRetried, "Rollout retried from %s", d.stepName(0))
	case v1alpha1.AnnotationRestore:
		// Carried out by internal/snapshot (DecideRestore), which reads
		// the value handled here to tell a new request from an old one;
		// the planner holds the rollout while it runs (Input.Restore).
	}
}

func (d *decider) ignore(action, why string) {
	d.event(corev1.EventTypeWarning, ReasonActionIgnored, "Ignored %s in phase %s: %s", action, d.status.Phase, why)
}
