package controller

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
	"github.com/sroll-dev/sroll/internal/plan"
)

func refs(names ...string) []plan.PodRef {
	var out []plan.PodRef
	for _, n := range names {
		out = append(out, plan.PodRef{Name: n})
	}
	return out
}

func batch(names ...string) []event.Event { return []event.Event{plan.BatchDeleted(names)} }

func TestHeldWavesAreToldOncePerEventWindow(t *testing.T) {
	rollout := &v1alpha1.StatefulSetRollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kv"}}
	key := client.ObjectKeyFromObject(rollout)
	start := time.Unix(1000, 0)
	var h heldEvents

	h.hold(rollout, batch("kv-9"), refs("kv-9"))
	if got, _ := h.due(key, start); !reflect.DeepEqual(got, batch("kv-9")) {
		t.Errorf("the first wave: %v, want it told at once", got)
	}
	h.hold(rollout, batch("kv-8"), refs("kv-8"))
	h.hold(rollout, batch("kv-7", "kv-6"), refs("kv-7", "kv-6"))
	got, wait := h.due(key, start.Add(4*time.Second))
	if got != nil || wait != eventWindow-4*time.Second {
		t.Errorf("two waves 4 s after the first: %v, wait %v; want held for %v", got, wait, eventWindow-4*time.Second)
	}
	if got := h.others(key); got != nil {
		t.Errorf("a report's status write: %v, want the waves still held", got)
	}
	if got, wait := h.due(key, start.Add(eventWindow)); !reflect.DeepEqual(got, batch("kv-6", "kv-7", "kv-8")) || wait != 0 {
		t.Errorf("at the window's end: %v, wait %v; want one event naming both waves' pods", got, wait)
	}
	if got, wait := h.due(key, start.Add(eventWindow+time.Second)); got != nil || wait != 0 {
		t.Errorf("nothing held: %v, wait %v; want nothing and no wait", got, wait)
	}
	h.hold(rollout, batch("kv-5"), refs("kv-5"))
	if got, wait := h.due(key, start.Add(eventWindow+time.Second)); got != nil || wait != eventWindow-time.Second {
		t.Errorf("a wave a second after the last told: %v, wait %v; want held for %v", got, wait, eventWindow-time.Second)
	}
}

func TestADecisionTellsTheHeldWavesFirst(t *testing.T) {
	rollout := &v1alpha1.StatefulSetRollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kv"}}
	key := client.ObjectKeyFromObject(rollout)
	start := time.Unix(1000, 0)
	stepCompleted := event.Event{Type: corev1.EventTypeNormal, Reason: plan.ReasonStepCompleted, Message: "step 1/2 (50%) completed"}
	stepStarted := event.Event{Type: corev1.EventTypeNormal, Reason: plan.ReasonStepStarted, Message: "step 2/2 (100%) started"}
	unavailable := event.Event{Type: corev1.EventTypeWarning, Reason: "Other", Message: "held with a deferred status"}
	var h heldEvents

	h.hold(rollout, batch("kv-9"), refs("kv-9"))
	h.due(key, start)
	h.hold(rollout, batch("kv-8"), refs("kv-8"))
	h.hold(rollout, append(batch("kv-7"), unavailable), refs("kv-7"))
	if got := h.others(key); !reflect.DeepEqual(got, []event.Event{unavailable}) {
		t.Errorf("a report's status write: %v, want the deferred plan's other event", got)
	}
	h.hold(rollout, batch("kv-6"), refs("kv-6"))
	decision := append([]event.Event{stepCompleted, stepStarted}, batch("kv-4", "kv-5")...)
	want := append(batch("kv-6", "kv-7", "kv-8"), decision...)
	if got := h.all(rollout, decision, start.Add(time.Second)); !reflect.DeepEqual(got, want) {
		t.Errorf("a decision 1 s after the first wave:\n got %v\nwant %v: the held waves, then the decision's own events", got, want)
	}
	h.hold(rollout, batch("kv-3"), refs("kv-3"))
	if got, wait := h.due(key, start.Add(2*time.Second)); got != nil || wait != eventWindow-time.Second {
		t.Errorf("a wave after the decision's own batch: %v, wait %v; want the window counted from that batch", got, wait)
	}

	h.hold(rollout, batch("kv-2"), refs("kv-2"))
	got, events := h.forget(key)
	if got == nil || got.Name != "kv" || got.Namespace != "ns" {
		t.Errorf("forget returned the rollout %v, want kv in ns to record on", got)
	}
	if !reflect.DeepEqual(events, batch("kv-2", "kv-3")) {
		t.Errorf("forget returned %v, want the held waves to record", events)
	}
	if _, events := h.forget(key); events != nil {
		t.Errorf("forgotten twice: %v, want nothing", events)
	}
}

// A rollout of 4 pods, one at a time: its first wave is told at once, the
// next two together once eventWindow has passed, the last before the
// events of the decision that completes it.
func TestReconcileTellsWavesOncePerEventWindow(t *testing.T) {
	ctx := context.Background()
	f, key, rollout := firstReleaseCompleted(t)
	f.recorded()

	rollout.Spec.Template.Spec.Containers[0].Image = "kv:v2"
	if err := f.r.Update(ctx, &rollout); err != nil {
		t.Fatal(err)
	}
	start := f.clock.Now()
	reconcileOnce(t, f, "kv")
	if got := reasons(f.recorded()); !reflect.DeepEqual(got, []string{"StepStarted", "BatchDeleted: Deleted 1 pods: kv-3"}) {
		t.Errorf("the image change: %v, want the step and the first wave told at once", got)
	}
	var requeue time.Duration
	for range 2 {
		playStatefulSetController(t, f, key)
		f.clock.Step(statusInterval)
		requeue = reconcileOnce(t, f, "kv").RequeueAfter
		if got := f.recorded(); len(got) != 0 {
			t.Errorf("a wave %v after the first: %v, want it held", f.clock.Since(start), got)
		}
	}
	if want := eventWindow - 2*statusInterval; requeue != want {
		t.Errorf("RequeueAfter = %v, want %v: when the held waves are due", requeue, want)
	}
	f.clock.SetTime(start.Add(eventWindow))
	reconcileOnce(t, f, "kv")
	if got := reasons(f.recorded()); !reflect.DeepEqual(got, []string{"BatchDeleted: Deleted 2 pods: kv-1, kv-2"}) {
		t.Errorf("at the window's end: %v, want one event for the two waves held", got)
	}
	for range 2 {
		playStatefulSetController(t, f, key)
		f.clock.Step(statusInterval)
		reconcileOnce(t, f, "kv")
	}
	if got := reasons(f.recorded()); !reflect.DeepEqual(got, []string{"BatchDeleted: Deleted 1 pods: kv-0", "StepCompleted", "Completed"}) {
		t.Errorf("the last wave, then the end: %v, want the held wave told before the decision's events", got)
	}
}

// reasons is what recorded events say: the reason, and a BatchDeleted's
// message.
func reasons(recorded []string) []string {
	var out []string
	for _, e := range recorded {
		fields := strings.SplitN(e, " ", 3)
		if fields[1] == plan.ReasonBatchDeleted {
			out = append(out, fields[1]+": "+fields[2])
			continue
		}
		out = append(out, fields[1])
	}
	return out
}

// The waves held when a rollout is deleted are told on it then, not lost.
func TestReconcileOfADeletedRolloutTellsItsHeldWaves(t *testing.T) {
	f := newFixture(t)
	rollout := newRollout("kv", 4, "kv:v1")
	f.r.heldEvents.hold(rollout, batch("kv-3"), refs("kv-3"))
	f.r.heldEvents.due(client.ObjectKeyFromObject(rollout), f.clock.Now())
	f.r.heldEvents.hold(rollout, batch("kv-2"), refs("kv-2"))
	f.recorded()
	reconcileOnce(t, f, "kv")
	if got := reasons(f.recorded()); !reflect.DeepEqual(got, []string{"BatchDeleted: Deleted 1 pods: kv-2"}) {
		t.Errorf("the reconcile that found the rollout gone recorded %v, want the held wave", got)
	}
	if _, events := f.r.heldEvents.forget(client.ObjectKeyFromObject(rollout)); events != nil {
		t.Errorf("still held after the rollout was forgotten: %v", events)
	}
}
