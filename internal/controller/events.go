package controller

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
)

// Event reasons of the controller itself; the planner's are in package plan.
const (
	ReasonAdoptionRefused = "AdoptionRefused"
	// ReasonNotificationRefused: the operator will not send to a target
	// (status.notifications[].refused says why); the rollout goes on.
	ReasonNotificationRefused = "NotificationRefused"
)

// Event actions: what the operator did, in the events.k8s.io sense.
const (
	actionRollout = "Rollout"
	actionUndo    = "Undo"
	actionAdopt   = "Adopt"
	actionNotify  = "Notify"
)

// recordEvents records a decider's events (the planner's, the replication
// decider's) on the rollout, as part of the action that carried them out.
func (r *Reconciler) recordEvents(rollout *v1alpha1.StatefulSetRollout, action string, events []event.Event) {
	for _, e := range events {
		r.Recorder.Eventf(rollout, nil, e.Type, e.Reason, action, "%s", e.Message)
	}
}

// warn records a Warning event on the rollout.
func (r *Reconciler) warn(rollout *v1alpha1.StatefulSetRollout, reason, action, format string, args ...any) {
	r.Recorder.Eventf(rollout, nil, corev1.EventTypeWarning, reason, action, format, args...)
}
