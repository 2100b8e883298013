package notify

import (
	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// EventRollbackStarted is reported when a rollout starts rolling back (a
// missed deadline with autoRollback, or an abort).
const EventRollbackStarted = v1alpha1.EventRollbackStarted

// Event is one notable change of a rollout, found by EventsFor.
type Event struct {
	Type v1alpha1.NotificationEvent
	// Step is the index of the step that completed (StepCompleted) or the
	// step the rollout stands at (every other event); len(steps) when done.
	Step int
	// Reason is the rollout's status message when the event happened, or
	// the snapshot set's for a snapshot event.
	Reason string
	// Snapshot is the set a SnapshotReady or SnapshotFailed event ends
	// (SnapshotEvent); nil for every other event.
	Snapshot *PayloadSnapshot
}

// SnapshotEvent is the event ending a rollout's snapshot set, or false
// while the set is still Pending. The snapshot set controller reports it to
// the rollout's targets when it writes the set's end (see
// internal/controller), not the rollout's status diff: the set's phase is
// the set's, and a set a user or the schedule took never shows in the
// rollout's status.
func SnapshotEvent(set *v1alpha1.RolloutSnapshot) (Event, bool) {
	e := Event{Reason: set.Status.Message, Snapshot: &PayloadSnapshot{
		Name: set.Name, Reason: set.Spec.Reason, Revision: set.Status.Revision, Volumes: int32(len(set.Status.Volumes)),
	}}
	if g := set.Status.Group; g != nil {
		e.Snapshot.VolumeGroupSnapshot = g.VolumeGroupSnapshot
	}
	switch set.Status.Phase {
	case v1alpha1.SnapshotReady:
		e.Type = v1alpha1.EventSnapshotReady
	case v1alpha1.SnapshotFailed:
		e.Type = v1alpha1.EventSnapshotFailed
	default:
		return Event{}, false
	}
	return e, true
}

// terminal reports whether the event ends a rollout for a release system:
// these are delivered at least once, across operator restarts.
func terminal(t v1alpha1.NotificationEvent) bool {
	switch t {
	case v1alpha1.EventCompleted, v1alpha1.EventFailed, v1alpha1.EventRolledBack:
		return true
	}
	return false
}

// phaseEvents maps the phase a rollout enters to the event announcing it.
// Entering Progressing is not an event: a resumed rollout reports the step
// it completes instead. The terminal ones are also what a restarted
// dispatcher redelivers for a rollout found standing in that phase.
var phaseEvents = map[v1alpha1.Phase]v1alpha1.NotificationEvent{
	v1alpha1.PhasePaused:      v1alpha1.EventPaused,
	v1alpha1.PhaseCompleted:   v1alpha1.EventCompleted,
	v1alpha1.PhaseDegraded:    v1alpha1.EventFailed,
	v1alpha1.PhaseRollingBack: EventRollbackStarted,
	v1alpha1.PhaseAborted:     v1alpha1.EventRolledBack,
}

// impliedTerminal is the terminal event of a rollout standing in phase, or
// "" while it is still moving.
func impliedTerminal(phase v1alpha1.Phase) v1alpha1.NotificationEvent {
	if e := phaseEvents[phase]; terminal(e) {
		return e
	}
	return ""
}

// EventsFor returns the notable events between two statuses of one rollout,
// oldest first. The controller calls it with the status it read and the
// status it wrote, after the write succeeded.
//
// An attempt at rolling out a template is named by status.templateHash,
// status.startedAt and the last retry handled; a new template or a retry
// starts a new attempt. An attempt is announced (Started) once the
// StatefulSet reports a new revision different from the stable one, and
// reports nothing before: creating a StatefulSet announces nothing. Worked
// examples, rows of the table test:
//
//	updateRevision "" → R2 (stable R1), Progressing  → Started
//	step 0 → 2, Paused at the pause step 2           → StepCompleted(0), StepCompleted(1), Paused
//	step 3 → 4, Completed                            → StepCompleted(3), Completed
//	Progressing → Degraded                           → Failed
//	Progressing → RollingBack (abort or deadline)    → RollbackStarted
//	RollingBack → Aborted                            → RolledBack
//	RollingBack → Degraded (deadline, rolled back)   → Failed
//	same phase, same step                            → nothing
func EventsFor(old, new v1alpha1.StatefulSetRolloutStatus) []Event {
	same := sameAttempt(old, new)
	if !announced(new) && !(same && announced(old)) {
		return nil
	}
	fromPhase, fromStep, wasForward := old.Phase, int(old.CurrentStepIndex), forward(old)
	if !same {
		fromPhase, fromStep, wasForward = v1alpha1.PhaseProgressing, 0, false
	}
	var events []Event
	if forward(new) && !wasForward && movingForward(new.Phase) {
		events = append(events, Event{Type: v1alpha1.EventStarted, Step: int(new.CurrentStepIndex), Reason: new.Message})
	}
	if movingForward(new.Phase) {
		for step := fromStep; step < int(new.CurrentStepIndex); step++ {
			events = append(events, Event{Type: v1alpha1.EventStepCompleted, Step: step, Reason: new.Message})
		}
	}
	if t, ok := phaseEvents[new.Phase]; ok && new.Phase != fromPhase {
		events = append(events, Event{Type: t, Step: int(new.CurrentStepIndex), Reason: new.Message})
	}
	return events
}

// forward reports whether pods are moving from a stable revision to a new
// one. The planner shows the StatefulSet's revisions: updateRevision is
// empty while a new template is being written, and equals the stable
// revision once a rollout completes or while it rolls back.
func forward(s v1alpha1.StatefulSetRolloutStatus) bool {
	return s.StableRevision != "" && s.UpdateRevision != "" && s.UpdateRevision != s.StableRevision
}

// announced reports whether a status belongs to a rollout worth telling
// anyone about: one moving forward, or one rolling back (only a rollout
// with a stable revision to return to can).
func announced(s v1alpha1.StatefulSetRolloutStatus) bool {
	return forward(s) || s.RollbackReason != ""
}

// sameAttempt compares attempt identities. StartedAt is compared at second
// precision because that is all a status read back from the API server keeps.
func sameAttempt(old, new v1alpha1.StatefulSetRolloutStatus) bool {
	return old.TemplateHash == new.TemplateHash && unix(old.StartedAt) == unix(new.StartedAt) &&
		old.HandledActions[v1alpha1.AnnotationRetry] == new.HandledActions[v1alpha1.AnnotationRetry]
}

// movingForward is false while a rollout goes back to its stable revision:
// its step index then says nothing about progress.
func movingForward(p v1alpha1.Phase) bool {
	return p != v1alpha1.PhaseRollingBack && p != v1alpha1.PhaseAborted
}
