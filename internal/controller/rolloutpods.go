package controller

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
)

// rolloutPods are the cached pods of each rollout (by namespace and
// sroll.dev/rollout label), the cache's own objects as its informer hands
// them to event handlers, each with its facts for the planner, taken once
// per version of the pod (plan.PodFacts). A cache List copies every pod
// into the list it fills: at a thousand pods a megabyte per reconcile,
// which was a sixth of the operator's CPU and most of its garbage. Nothing
// in the operator writes into these objects (deletions.observe marks a
// copy).
//
// The pod watch's handler (handler) keeps them, then wakes the pod's
// rollout (wake), so a reconcile always reads the pods as of the event that
// woke it. (The informer's own index would need no handler, but a cache limited
// to some namespaces hides its informers' indexers.)
type rolloutPods struct {
	clock clock.PassiveClock
	mu    sync.RWMutex
	// byRollout holds each rollout's pods by name.
	byRollout map[types.NamespacedName]map[string]podEntry
	// quietUntil is, for each rollout woken by a pod event, the end of
	// the podEventWindow it opened.
	quietUntil map[reconcile.Request]time.Time
}

// podEventWindow gathers a rollout's pod events into one reconcile: the
// first event of a window wakes the rollout at once, those that follow
// within it wake it once, at its end. A wave of a hundred pods is hundreds
// of events a second, and a reconcile reads every pod of the rollout: at a
// thousand pods, waking on each event took half of the reconciles and a
// fifth of the operator's CPU for nothing, on a machine the pods' own
// replacement keeps busy (make bench: 1285 → 725–780 reconciles, 7.5 →
// 5.9 s of CPU). A freed slot waits at most this long for its deletion.
const podEventWindow = 50 * time.Millisecond

type podEntry struct {
	pod   *corev1.Pod
	facts plan.PodFacts
}

func rolloutOfLabel(pod client.Object) types.NamespacedName {
	return types.NamespacedName{Namespace: pod.GetNamespace(), Name: pod.GetLabels()[v1alpha1.LabelRollout]}
}

// of are the pods labelled for rollout in namespace that selector selects,
// in no order, and their facts (facts[i] are pods[i]'s).
func (rp *rolloutPods) of(namespace, rollout string, selector labels.Selector) (pods []*corev1.Pod, facts []plan.PodFacts) {
	rp.mu.RLock()
	defer rp.mu.RUnlock()
	held := rp.byRollout[types.NamespacedName{Namespace: namespace, Name: rollout}]
	pods = make([]*corev1.Pod, 0, len(held))
	facts = make([]plan.PodFacts, 0, len(held))
	for _, e := range held {
		if selector.Matches(labels.Set(e.pod.Labels)) {
			pods = append(pods, e.pod)
			facts = append(facts, e.facts)
		}
	}
	return pods, facts
}

func (rp *rolloutPods) set(pod *corev1.Pod) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	key := rolloutOfLabel(pod)
	if rp.byRollout == nil {
		rp.byRollout = map[types.NamespacedName]map[string]podEntry{}
	}
	if rp.byRollout[key] == nil {
		rp.byRollout[key] = map[string]podEntry{}
	}
	rp.byRollout[key][pod.Name] = podEntry{pod: pod, facts: plan.FactsOf(pod)}
}

// remove forgets pod, unless a pod of the same name and another UID took its
// place already.
func (rp *rolloutPods) remove(pod *corev1.Pod) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	key := rolloutOfLabel(pod)
	held := rp.byRollout[key]
	if e, ok := held[pod.Name]; !ok || e.pod.UID != pod.UID {
		return
	}
	delete(held, pod.Name)
	if len(held) == 0 {
		delete(rp.byRollout, key)
	}
}

type podQueue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// wake enqueues the rollout of the pod's StatefulSet (rolloutOfPod), within
// podEventWindow.
func (rp *rolloutPods) wake(ctx context.Context, pod client.Object, q podQueue) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	now := rp.clock.Now()
	for _, req := range rolloutOfPod(ctx, pod) {
		if until := rp.quietUntil[req]; now.Before(until) {
			// The queue keeps one wake-up per rollout, the earliest.
			q.AddAfter(req, until.Sub(now))
			continue
		}
		if rp.quietUntil == nil {
			rp.quietUntil = map[reconcile.Request]time.Time{}
		}
		rp.quietUntil[req] = now.Add(podEventWindow)
		q.Add(req)
	}
}

// forget drops the window of a rollout that no longer exists.
func (rp *rolloutPods) forget(rollout types.NamespacedName) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	delete(rp.quietUntil, reconcile.Request{NamespacedName: rollout})
}

// handler keeps the pods from the pod watch's events, then wakes their
// rollout.
func (rp *rolloutPods) handler() handler.EventHandler {
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q podQueue) {
			if pod, ok := e.Object.(*corev1.Pod); ok {
				rp.set(pod)
				rp.wake(ctx, pod, q)
			}
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q podQueue) {
			old, okOld := e.ObjectOld.(*corev1.Pod)
			pod, ok := e.ObjectNew.(*corev1.Pod)
			if !okOld || !ok {
				return
			}
			if rolloutOfLabel(old) != rolloutOfLabel(pod) {
				rp.remove(old)
			}
			rp.set(pod)
			rp.wake(ctx, pod, q)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q podQueue) {
			if pod, ok := e.Object.(*corev1.Pod); ok {
				rp.remove(pod)
				rp.wake(ctx, pod, q)
			}
		},
	}
}
