package bench

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	toolswatch "k8s.io/client-go/tools/watch"
)

// podWatcher follows the pods of one StatefulSet from a watch and keeps,
// as each event arrives: how many ordinals lack a Ready pod (and the most
// ever), when each deletion was first seen, and for each replaced pod the
// time from its deletion being seen to its replacement being Ready. Times
// are when this process received the event, so the watch's delivery delay
// is in every figure, on both ends of the per-pod times.
type podWatcher struct {
	setName  string
	replicas int

	mu             sync.Mutex
	pods           map[string]podState
	available      int
	maxUnavailable int
	seenDeleted    map[types.UID]bool
	deletions      []time.Time
	// pending maps a pod name to the deletion that took it down, until a
	// new pod of that name is Ready.
	pending  map[string]deletion
	replaced []replacement
}

// replacement is one pod replaced: when its deletion was seen and when the
// new pod of its name was seen Ready.
type replacement struct {
	deleted, ready time.Time
}

func (r replacement) took() time.Duration { return r.ready.Sub(r.deleted) }

// podState is what the watcher keeps of one pod.
type podState struct {
	uid         types.UID
	revision    string
	ready       bool
	terminating bool
}

func (p podState) serving() bool { return p.ready && !p.terminating }

type deletion struct {
	uid types.UID
	at  time.Time
}

// watchPods starts watching the pods of setName in namespace; the watch
// stops when the benchmark ends.
func (e *env) watchPods(b *testing.B, namespace, setName string, replicas int) *podWatcher {
	b.Helper()
	w := &podWatcher{
		setName: setName, replicas: replicas,
		pods: map[string]podState{}, seenDeleted: map[types.UID]bool{}, pending: map[string]deletion{},
	}
	ctx, cancel := context.WithCancel(context.Background())
	pods := e.clientset.CoreV1().Pods(namespace)
	initial, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	now := time.Now()
	for i := range initial.Items {
		w.observe(watch.Added, &initial.Items[i], now)
	}
	lw := &cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) { return pods.List(ctx, o) },
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			return pods.Watch(ctx, o)
		},
	}
	rw, err := toolswatch.NewRetryWatcherWithContext(ctx, initial.ResourceVersion, lw)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range rw.ResultChan() {
			if pod, ok := ev.Object.(*corev1.Pod); ok {
				w.observe(ev.Type, pod, time.Now())
			}
		}
	}()
	b.Cleanup(func() { cancel(); rw.Stop(); <-done })
	return w
}

func (w *podWatcher) observe(kind watch.EventType, pod *corev1.Pod, now time.Time) {
	ordinal, ok := ordinalOf(w.setName, pod.Name)
	if !ok || ordinal >= w.replicas {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	old, had := w.pods[pod.Name]
	if had && old.uid != pod.UID && kind == watch.Deleted {
		// A late event of a pod already replaced under the same name.
		return
	}
	if (kind == watch.Deleted || pod.DeletionTimestamp != nil) && !w.seenDeleted[pod.UID] {
		w.seenDeleted[pod.UID] = true
		w.deletions = append(w.deletions, now)
		if _, down := w.pending[pod.Name]; !down {
			w.pending[pod.Name] = deletion{uid: pod.UID, at: now}
		}
	}
	var cur podState
	if kind != watch.Deleted {
		cur = podState{uid: pod.UID, revision: pod.Labels[appsv1.ControllerRevisionHashLabelKey],
			ready: podReady(pod), terminating: pod.DeletionTimestamp != nil}
		w.pods[pod.Name] = cur
	} else {
		delete(w.pods, pod.Name)
	}
	if d, down := w.pending[pod.Name]; down && cur.serving() && cur.uid != d.uid {
		w.replaced = append(w.replaced, replacement{deleted: d.at, ready: now})
		delete(w.pending, pod.Name)
	}
	if had && old.serving() {
		w.available--
	}
	if cur.serving() {
		w.available++
	}
	w.maxUnavailable = max(w.maxUnavailable, w.replicas-w.available)
}

// resetMax starts counting the most unavailable pods from now.
func (w *podWatcher) resetMax() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.maxUnavailable = w.replicas - w.available
}

// firstDeletionAfter returns when the first deletion seen after t was seen.
func (w *podWatcher) firstDeletionAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, at := range w.deletions {
		if at.After(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

// watchSummary is what the watcher saw of a rollout.
type watchSummary struct {
	maxUnavailable int
	// deletions are when each deletion was seen, in order.
	deletions []time.Time
	// replaced are the replaced pods, in the order they were seen Ready.
	replaced []replacement
	// onRevision counts the pods serving at revision.
	onRevision int
}

func (w *podWatcher) summary(revision string) watchSummary {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := watchSummary{maxUnavailable: w.maxUnavailable, deletions: slices.Clone(w.deletions), replaced: slices.Clone(w.replaced)}
	for _, p := range w.pods {
		if p.serving() && p.revision == revision {
			s.onRevision++
		}
	}
	return s
}

// podTimes are the replacement times, sorted.
func (s watchSummary) podTimes() []time.Duration {
	out := make([]time.Duration, len(s.replaced))
	for i, r := range s.replaced {
		out[i] = r.took()
	}
	slices.Sort(out)
	return out
}

// reactions are, for a rollout under a budget of n pods, the times from
// the budget freeing to the operator using it: deletion n+j needs the j-th
// replacement Ready (unavailable = deleted - replaced-and-Ready <= n), so
// its reaction is the time between the two, as seen by the watch. Sorted.
func (s watchSummary) reactions(budget int) []time.Duration {
	var out []time.Duration
	for j := 0; j < len(s.replaced) && budget+j < len(s.deletions); j++ {
		out = append(out, s.deletions[budget+j].Sub(s.replaced[j].ready))
	}
	slices.Sort(out)
	return out
}

// idealPipeline is how long the rollout would take with the same per-pod
// times and an operator that reacts instantly: each pod, in the order they
// were deleted, starts as soon as one of the budget's slots frees and holds
// it for its own replacement time.
func (s watchSummary) idealPipeline(budget int) time.Duration {
	byDeletion := slices.Clone(s.replaced)
	slices.SortFunc(byDeletion, func(a, b replacement) int { return a.deleted.Compare(b.deleted) })
	slots := make([]time.Duration, budget) // when each slot is free again
	var end time.Duration
	for _, r := range byDeletion {
		i := slices.Index(slots, slices.Min(slots))
		slots[i] += r.took()
		end = max(end, slots[i])
	}
	return end
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func ordinalOf(setName, podName string) (int, bool) {
	suffix, ok := strings.CutPrefix(podName, setName+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(suffix)
	return n, err == nil
}

// percentile is the nearest-rank q-quantile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
