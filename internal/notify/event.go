package notify

import (
	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// EventRollbackStarted is reported when a rollout starts rolling back (a
// failed deadline with autoRollback, or an abort). It is not in the API's
// NotificationEvent enum yet, so it is shown in Slack only and never sent to
// webhooks, whose Events filter could not name it.
const EventRollbackStarted v1alpha1.NotificationEvent = "RollbackStarted"

// Event is one notable change of a rollout, found by EventsFor.
type Event struct {
	Type v1alpha1.NotificationEvent
	// Step is the index of the step that completed (StepCompleted) or the
	// step the rollout stands at (every other event); len(steps) when done.
	Step int
	// Reason is the rollout's status message when the event happened.
	Reason string
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

// impliedTerminal is the terminal event a rollout standing in phase has
// reached, or "" while it is still moving. A restarted dispatcher uses it to
// redeliver what the controller had not recorded as delivered.
func impliedTerminal(phase v1alpha1.Phase) v1alpha1.NotificationEvent {
	switch phase {
	case v1alpha1.PhaseCompleted:
		return v1alpha1.EventCompleted
	case v1alpha1.PhaseDegraded:
		return v1alpha1.EventFailed
	case v1alpha1.PhaseAborted:
		return v1alpha1.EventRolledBack
	}
	return ""
}

// phaseEvents maps the phase a rollout enters to the event announcing it.
// Entering Progressing is not an event: a resumed rollout reports the step
// it completes instead.
var phaseEvents = map[v1alpha1.Phase]v1alpha1.NotificationEvent{
	v1alpha1.PhasePaused:      v1alpha1.EventPaused,
	v1alpha1.PhaseCompleted:   v1alpha1.EventCompleted,
	v1alpha1.PhaseDegraded:    v1alpha1.EventFailed,
	v1alpha1.PhaseRollingBack: EventRollbackStarted,
	v1alpha1.PhaseAborted:     v1alpha1.EventRolledBack,
}

// EventsFor returns the notable events between two statuses of one rollout,
// oldest first. The controller calls it with the status it read and the
// status it wrote, after the write succeeded.
//
// A rollout is identified by its UpdateRevision and StartedAt (a retry of
// the same revision starts a new rollout). Events are reported only for a
// rollout that has something to roll out (StableRevision set and different
// from UpdateRevision) at its start or at the previous status, so creating a
// StatefulSet announces nothing. Worked examples, matching the table test:
//
//	new revision, Progressing at step 0         → Started
//	step 0 → 2, Paused at the pause step 2      → StepCompleted(0), StepCompleted(1), Paused
//	step 3 → 4, Completed                       → StepCompleted(3), Completed
//	Progressing → Degraded                      → Failed
//	Degraded → RollingBack → Aborted            → RollbackStarted, then RolledBack
//	same phase, same step                       → nothing
func EventsFor(old, new v1alpha1.StatefulSetRolloutStatus) []Event {
	if !announced(new) && (!sameRollout(old, new) || !announced(old)) {
		return nil
	}
	var events []Event
	fromPhase, fromStep := old.Phase, int(old.CurrentStepIndex)
	if !sameRollout(old, new) {
		events = append(events, Event{Type: v1alpha1.EventStarted, Step: 0, Reason: new.Message})
		fromPhase, fromStep = v1alpha1.PhaseProgressing, 0
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

// announced reports whether a status describes a rollout worth telling
// anyone about: there is an old revision to move away from.
func announced(s v1alpha1.StatefulSetRolloutStatus) bool {
	return s.StableRevision != "" && s.StableRevision != s.UpdateRevision
}

// sameRollout compares rollout identities. StartedAt is compared at second
// precision because that is all a status read back from the API server keeps.
func sameRollout(old, new v1alpha1.StatefulSetRolloutStatus) bool {
	return old.UpdateRevision == new.UpdateRevision && unix(old.StartedAt) == unix(new.StartedAt)
}

// movingForward is false while a rollout goes back to its stable revision:
// its step index then says nothing about progress.
func movingForward(p v1alpha1.Phase) bool {
	return p != v1alpha1.PhaseRollingBack && p != v1alpha1.PhaseAborted
}
