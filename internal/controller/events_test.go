package controller

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/internal/event"
	"github.com/sroll-dev/sroll/internal/plan"
)

func TestHeldEventsBecomeOneBatchDeletedWithTheNextWrite(t *testing.T) {
	refs := func(names ...string) []plan.PodRef {
		var out []plan.PodRef
		for _, n := range names {
			out = append(out, plan.PodRef{Name: n})
		}
		return out
	}
	batch := func(names ...string) []event.Event { return []event.Event{plan.BatchDeleted(names)} }
	started := event.Event{Type: corev1.EventTypeNormal, Reason: plan.ReasonStepStarted, Message: "step 2/2 (100%) started"}
	key := types.NamespacedName{Namespace: "ns", Name: "kv"}

	var h heldEvents
	if got := h.with(key, batch("kv-9"), refs("kv-9")); !reflect.DeepEqual(got, batch("kv-9")) {
		t.Errorf("nothing held: %v, want the plan's own events", got)
	}
	h.hold(key, batch("kv-9", "kv-8"), refs("kv-9", "kv-8"))
	h.hold(key, batch("kv-7"), refs("kv-7"))
	want := []event.Event{started, plan.BatchDeleted([]string{"kv-6", "kv-7", "kv-8", "kv-9"})}
	if got := h.with(key, append([]event.Event{started}, batch("kv-6")...), refs("kv-6")); !reflect.DeepEqual(got, want) {
		t.Errorf("two deferred batches, then a written one: %v, want %v", got, want)
	}
	if got := h.with(key, nil, nil); got != nil {
		t.Errorf("after a write: %v, want nothing held", got)
	}
	h.hold(key, batch("kv-5"), refs("kv-5"))
	want = []event.Event{started, plan.BatchDeleted([]string{"kv-5"})}
	if got := h.with(key, []event.Event{started}, nil); !reflect.DeepEqual(got, want) {
		t.Errorf("a deferred batch, then a write that deletes nothing: %v, want %v", got, want)
	}
}
