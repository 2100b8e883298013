package controller

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
)

func TestRolloutPodsFollowThePodWatch(t *testing.T) {
	ctx := context.Background()
	controller := true
	labelled := func(name string, uid types.UID, rollout, app string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: uid,
			Labels:          map[string]string{v1alpha1.LabelRollout: rollout, "app": app},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: rollout, Controller: &controller}}}}
	}
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	rp := rolloutPods{clock: clocktesting.NewFakeClock(time.Now())}
	h := rp.handler()
	selector := labels.SelectorFromSet(labels.Set{"app": "kv"})
	names := func() []string {
		var out []string
		pods, facts := rp.of("default", "kv", selector)
		for i, pod := range pods {
			out = append(out, pod.Name+"/"+string(pod.UID))
			if facts[i] != plan.FactsOf(pod) {
				t.Errorf("the facts held for %s are not its own", pod.Name)
			}
		}
		slices.Sort(out)
		return out
	}

	kv0, kv1 := labelled("kv-0", "uid-0", "kv", "kv"), labelled("kv-1", "uid-1", "kv", "kv")
	h.Create(ctx, event.CreateEvent{Object: kv0}, q)
	h.Create(ctx, event.CreateEvent{Object: kv1}, q)
	h.Create(ctx, event.CreateEvent{Object: labelled("other-0", "uid-o", "other", "kv")}, q)
	h.Create(ctx, event.CreateEvent{Object: labelled("kv-x", "uid-x", "kv", "not-kv")}, q)
	if got, want := names(), []string{"kv-0/uid-0", "kv-1/uid-1"}; !slices.Equal(got, want) {
		t.Errorf("pods of kv = %v, want %v: its own label, selected", got, want)
	}
	if got, _ := rp.of("default", "kv", selector); len(got) > 0 && got[0] != kv0 && got[0] != kv1 {
		t.Errorf("pods of kv are copies, want the objects the watch delivered")
	}
	if q.Len() != 2 {
		t.Errorf("queue holds %d requests, want kv's and other's", q.Len())
	}

	// A pod replaced under its name: the delete of the old one comes late
	// (a tombstone after a relist) and must not drop the new one.
	replacement := labelled("kv-1", "uid-1b", "kv", "kv")
	h.Update(ctx, event.UpdateEvent{ObjectOld: kv1, ObjectNew: replacement}, q)
	h.Delete(ctx, event.DeleteEvent{Object: kv1, DeleteStateUnknown: true}, q)
	if got, want := names(), []string{"kv-0/uid-0", "kv-1/uid-1b"}; !slices.Equal(got, want) {
		t.Errorf("after kv-1 was replaced, pods of kv = %v, want %v", got, want)
	}

	// Relabelled away, then deleted.
	h.Update(ctx, event.UpdateEvent{ObjectOld: kv0, ObjectNew: labelled("kv-0", "uid-0", "other", "kv")}, q)
	h.Delete(ctx, event.DeleteEvent{Object: replacement}, q)
	if got := names(); len(got) != 0 {
		t.Errorf("pods of kv = %v, want none: one relabelled, one deleted", got)
	}
	if got, _ := rp.of("default", "other", selector); len(got) != 2 {
		t.Errorf("pods of other = %d, want 2", len(got))
	}
}

// A burst of pod events wakes the rollout at once, then once more at the end
// of the window; an event after a quiet window wakes it at once.
func TestPodEventsWakeTheRolloutOncePerWindow(t *testing.T) {
	ctx := context.Background()
	clock := clocktesting.NewFakeClock(time.Now())
	q := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request](),
		workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{Clock: clock})
	defer q.ShutDown()
	rp := rolloutPods{clock: clock}
	controller := true
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kv-0", UID: "uid-0",
		Labels:          map[string]string{v1alpha1.LabelRollout: "kv"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "kv", Controller: &controller}}}}
	kv := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: "kv"}}
	take := func(when string) {
		t.Helper()
		if q.Len() != 1 {
			t.Fatalf("%s: %d rollouts queued, want kv", when, q.Len())
		}
		req, _ := q.Get()
		q.Done(req)
		if req != kv {
			t.Fatalf("%s: %v queued, want %v", when, req, kv)
		}
	}

	rp.wake(ctx, pod, q)
	take("first event")
	for range 10 {
		clock.Step(podEventWindow / 20)
		rp.wake(ctx, pod, q)
	}
	if q.Len() != 0 {
		t.Fatalf("events within the window woke the rollout at once")
	}
	clock.Step(podEventWindow / 2)
	if err := wait.PollUntilContextTimeout(ctx, time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return q.Len() > 0, nil
	}); err != nil {
		t.Fatalf("the window's events did not wake the rollout at its end")
	}
	take("end of the window")
	clock.Step(2 * podEventWindow)
	rp.wake(ctx, pod, q)
	take("after a quiet window")
}
