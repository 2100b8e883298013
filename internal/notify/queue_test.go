package notify

import (
	"testing"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func state(id uint64, templateHash string) item {
	return item{id: id, report: Report{TemplateHash: templateHash}}
}

func eventItem(id uint64, t v1alpha1.NotificationEvent) item {
	return item{id: id, report: Report{TemplateHash: "t2"}, event: Event{Type: t}}
}

func ids(items []item) []uint64 {
	var out []uint64
	for _, it := range items {
		out = append(out, it.id)
	}
	return out
}

func TestAppendStateCoalescesTheTrailingState(t *testing.T) {
	st := &stream{}
	if st.appendState(state(1, "t2")) {
		t.Error("first state reported as coalesced")
	}
	if !st.appendState(state(2, "t2")) {
		t.Error("second state of the same rollout not coalesced")
	}
	st.items = append(st.items, eventItem(3, v1alpha1.EventPaused))
	if st.appendState(state(4, "t2")) {
		t.Error("a state after an event coalesced across the event")
	}
	if st.appendState(state(5, "t3")) {
		t.Error("a state of a new rollout coalesced with the previous rollout's")
	}
	if got, want := ids(st.items), []uint64{2, 3, 4, 5}; !equal(got, want) {
		t.Errorf("items = %v, want %v", got, want)
	}
}

func TestTrimDropsOldestDroppableFirst(t *testing.T) {
	st := &stream{items: []item{
		state(1, "t2"),
		eventItem(2, v1alpha1.EventCompleted),
		eventItem(3, v1alpha1.EventStepCompleted),
		eventItem(4, v1alpha1.EventPaused),
		eventItem(5, v1alpha1.EventFailed),
	}}
	if dropped := st.trim(3); dropped != 2 {
		t.Errorf("dropped %d, want 2", dropped)
	}
	if got, want := ids(st.items), []uint64{1, 2, 5}; !equal(got, want) {
		t.Errorf("items = %v, want the state and the terminal events %v", got, want)
	}
	if dropped := st.trim(2); dropped != 1 || !equal(ids(st.items), []uint64{2, 5}) {
		t.Errorf("with only persistent items left, trim dropped %d leaving %v; want the oldest dropped", dropped, ids(st.items))
	}
}

func TestPopIgnoresAReplacedItem(t *testing.T) {
	st := &stream{items: []item{state(7, "t2")}, attempts: 3}
	if st.pop(6) {
		t.Error("popped an item that was replaced while it was sent")
	}
	if st.attempts != 3 || len(st.items) != 1 {
		t.Error("a failed pop changed the stream")
	}
	if !st.pop(7) || len(st.items) != 0 || st.attempts != 0 {
		t.Error("pop did not remove the item and reset the attempts")
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
