package controller

import (
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

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

// eventWindow is the least time between two BatchDeleted events of a
// rollout while its status reports only what was observed: the waves in
// between are told together, in one event naming every pod. A rollout's
// first wave after a quiet eventWindow is told at once, and whatever is held
// goes out before the next decision (a step ends, the rollout pauses,
// completes, degrades, rolls back), so the events stay in the order things
// happened. One BatchDeleted per status write was 0.38 Event writes per
// replaced pod with 10 rollouts of 50 pods moving, and 0.23-0.25 with 50 of
// 100, where the rollouts' turns (statusSpacing) spaced the writes 10 s
// apart already: a window shorter than the turns saves nothing there. A
// step's events are then 3 or 4 and one per eventWindow it lasts.
const eventWindow = 30 * time.Second

// heldEvents keeps what the events of the plans whose status was not written
// at once still have to tell. The BatchDeleted events of the waves (what they
// describe happened: the partition and the deletions) wait for eventWindow
// since the rollout's last one, or for the next decision, whichever comes
// first; a deferred plan's other events wait for the next status write, which
// they describe. Memory only: a restarted operator loses at most an
// eventWindow of BatchDeleted (the pods' own deletion is on record in the
// pods' replacements and the rollout's counts).
type heldEvents struct {
	mu        sync.Mutex
	byRollout map[types.NamespacedName]*held
}

type held struct {
	// rollout names the rollout the events regard, as last seen: enough
	// to record them after it is deleted.
	rollout *v1alpha1.StatefulSetRollout
	deleted []string
	other   []event.Event
	// told is when the rollout's last BatchDeleted was recorded.
	told time.Time
}

// of is the record of rollout, created on first use; h.mu is held.
func (h *heldEvents) of(rollout *v1alpha1.StatefulSetRollout) *held {
	if h.byRollout == nil {
		h.byRollout = map[types.NamespacedName]*held{}
	}
	key := client.ObjectKeyFromObject(rollout)
	kept := h.byRollout[key]
	if kept == nil {
		kept = &held{}
		h.byRollout[key] = kept
	}
	kept.rollout = &v1alpha1.StatefulSetRollout{ObjectMeta: metav1.ObjectMeta{
		Namespace: rollout.Namespace, Name: rollout.Name, UID: rollout.UID, ResourceVersion: rollout.ResourceVersion,
	}}
	return kept
}

// hold keeps a plan's events, its BatchDeleted as the names of the pods it
// deleted, until released or due.
func (h *heldEvents) hold(rollout *v1alpha1.StatefulSetRollout, events []event.Event, deleted []plan.PodRef) {
	h.mu.Lock()
	defer h.mu.Unlock()
	kept := h.of(rollout)
	for _, e := range events {
		if e.Reason != plan.ReasonBatchDeleted {
			kept.other = append(kept.other, e)
			continue
		}
		for _, ref := range deleted {
			kept.deleted = append(kept.deleted, ref.Name)
		}
	}
}

// others takes the held events but the BatchDeleted ones, which a status
// write that reports observations describes.
func (h *heldEvents) others(key types.NamespacedName) []event.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	kept := h.byRollout[key]
	if kept == nil {
		return nil
	}
	out := kept.other
	kept.other = nil
	return out
}

// all takes everything held, to record before the events of a plan whose
// status write is a decision: one BatchDeleted for the held waves, which
// happened before it, then the others, then the plan's own events.
func (h *heldEvents) all(rollout *v1alpha1.StatefulSetRollout, events []event.Event, now time.Time) []event.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	kept := h.of(rollout)
	out := append(kept.take(), events...)
	if slices.ContainsFunc(out, func(e event.Event) bool { return e.Reason == plan.ReasonBatchDeleted }) {
		kept.told = now
	}
	return out
}

// due takes the held waves' BatchDeleted once eventWindow has passed since
// the rollout's last one; before that, it says how long until it has
// (0 when nothing is held).
func (h *heldEvents) due(key types.NamespacedName, now time.Time) ([]event.Event, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	kept := h.byRollout[key]
	if kept == nil || len(kept.deleted) == 0 {
		return nil, 0
	}
	if wait := kept.told.Add(eventWindow).Sub(now); wait > 0 {
		return nil, wait
	}
	out := []event.Event{plan.BatchDeleted(kept.deleted)}
	kept.deleted, kept.told = nil, now
	return out, 0
}

// forget drops the record of a rollout that no longer exists, and returns
// what it still held, with the rollout the events regard, to be recorded.
func (h *heldEvents) forget(key types.NamespacedName) (*v1alpha1.StatefulSetRollout, []event.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	kept := h.byRollout[key]
	delete(h.byRollout, key)
	if kept == nil {
		return nil, nil
	}
	return kept.rollout, kept.take()
}

// take empties the record: one BatchDeleted for the held waves, which
// happened first, then the other events held.
func (k *held) take() []event.Event {
	var out []event.Event
	if len(k.deleted) > 0 {
		out = append(out, plan.BatchDeleted(k.deleted))
	}
	out = append(out, k.other...)
	k.deleted, k.other = nil, nil
	return out
}
