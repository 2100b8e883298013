package controller

import (
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
	"github.com/sroll-dev/sroll/internal/plan"
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

// heldEvents keeps the events of the plans whose status write apply deferred
// (observedOnly): what they describe happened, the StatefulSet write and the
// deletions, but events go out with a status write, so they wait for the
// next one. Their batches then become one BatchDeleted event naming every
// pod deleted since the last write: one Event a write, however many waves.
// Memory only: a restart loses at most a statusInterval's worth.
type heldEvents struct {
	mu        sync.Mutex
	byRollout map[types.NamespacedName]*held
}

type held struct {
	deleted []string
	other   []event.Event
}

// hold keeps a deferred plan's events and the pods it deleted.
func (h *heldEvents) hold(rollout types.NamespacedName, events []event.Event, deleted []plan.PodRef) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byRollout == nil {
		h.byRollout = map[types.NamespacedName]*held{}
	}
	kept := h.byRollout[rollout]
	if kept == nil {
		kept = &held{}
		h.byRollout[rollout] = kept
	}
	for _, ref := range deleted {
		kept.deleted = append(kept.deleted, ref.Name)
	}
	for _, e := range events {
		if e.Reason != plan.ReasonBatchDeleted {
			kept.other = append(kept.other, e)
		}
	}
}

// with returns the events to record with a status write: the held ones,
// then those of the plan that writes it, which deletes the pods deleting,
// with one BatchDeleted for all the pods; the held ones are dropped.
func (h *heldEvents) with(rollout types.NamespacedName, events []event.Event, deleting []plan.PodRef) []event.Event {
	h.mu.Lock()
	kept := h.byRollout[rollout]
	delete(h.byRollout, rollout)
	h.mu.Unlock()
	if kept == nil {
		return events
	}
	out := slices.Clone(kept.other)
	deleted := kept.deleted
	batch := -1
	for _, e := range events {
		if e.Reason == plan.ReasonBatchDeleted {
			batch = len(out)
			continue
		}
		out = append(out, e)
	}
	if batch < 0 {
		batch = len(out)
	} else {
		for _, ref := range deleting {
			deleted = append(deleted, ref.Name)
		}
	}
	if len(deleted) > 0 {
		out = slices.Insert(out, batch, plan.BatchDeleted(deleted))
	}
	return out
}

// forget drops what is held for a rollout that no longer exists.
func (h *heldEvents) forget(rollout types.NamespacedName) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.byRollout, rollout)
}
