package e2eutil

import (
	"context"
	"fmt"
	"maps"
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
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	toolswatch "k8s.io/client-go/tools/watch"
)

// PodWatcher follows the pods of one StatefulSet from a watch, until the
// test ends, and keeps as each event arrives what the tests assert on and
// the benchmarks measure: how many ordinals lack a serving pod (Ready, not
// terminating) and the most ever at one instant; every deletion, with the
// revision the pod ran; every pod created, with the revision it came at;
// and for each replaced pod the time from its deletion being seen to its
// replacement being Ready. Times are when this process received the event,
// so the watch's delivery delay is in every figure, on both ends of the
// per-pod times.
type PodWatcher struct {
	setName  string
	replicas int

	mu             sync.Mutex
	pods           map[string]podState
	serving        int
	maxUnavailable int
	worstInstant   string
	seenDeleted    map[types.UID]bool
	deletions      []Deletion
	created        []CreatedPod
	// pending maps a pod name to the deletion that took it down, until a
	// new pod of that name is Ready.
	pending  map[string]pendingDeletion
	replaced []Replacement
}

// Deletion is a pod seen terminating, or deleted, whichever came first.
type Deletion struct {
	Pod      string
	Revision string // the revision the pod ran
	At       time.Time
}

// CreatedPod is a pod first seen after the watch began.
type CreatedPod struct {
	Name     string
	Ordinal  int
	Revision string // the revision it came at
}

// Replacement is one pod replaced: when its deletion was seen and when the
// new pod of its name was seen Ready.
type Replacement struct {
	Deleted, Ready time.Time
}

// Took is the time from the deletion to the replacement Ready.
func (r Replacement) Took() time.Duration { return r.Ready.Sub(r.Deleted) }

// podState is what the watcher keeps of one pod.
type podState struct {
	uid         types.UID
	revision    string
	ready       bool
	terminating bool
}

func stateOf(pod *corev1.Pod) podState {
	return podState{uid: pod.UID, revision: pod.Labels[appsv1.ControllerRevisionHashLabelKey],
		ready: PodReady(pod), terminating: pod.DeletionTimestamp != nil}
}

func (p podState) isServing() bool { return p.ready && !p.terminating }

type pendingDeletion struct {
	uid types.UID
	at  time.Time
}

// WatchPods starts watching the pods of ordinals 0 to replicas-1 of the
// StatefulSet setName in namespace; the watch stops when the test ends.
func WatchPods(t testing.TB, cfg *rest.Config, namespace, setName string, replicas int) *PodWatcher {
	t.Helper()
	w := &PodWatcher{
		setName: setName, replicas: replicas,
		pods: map[string]podState{}, seenDeleted: map[types.UID]bool{}, pending: map[string]pendingDeletion{},
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pods := cs.CoreV1().Pods(namespace)
	initial, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	w.start(initial.Items)
	lw := &cache.ListWatch{
		ListFunc:  func(o metav1.ListOptions) (runtime.Object, error) { return pods.List(ctx, o) },
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) { return pods.Watch(ctx, o) },
	}
	rw, err := toolswatch.NewRetryWatcherWithContext(ctx, initial.ResourceVersion, lw)
	if err != nil {
		cancel()
		t.Fatal(err)
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
	t.Cleanup(func() { cancel(); rw.Stop(); <-done })
	return w
}

// start takes in the listed pods together, as the one instant the watch
// starts from: none of them counts as created, nor as deleted if already
// terminating.
func (w *PodWatcher) start(pods []corev1.Pod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range pods {
		pod := &pods[i]
		if ordinal, ok := Ordinal(w.setName, pod.Name); !ok || ordinal >= w.replicas {
			continue
		}
		cur := stateOf(pod)
		w.pods[pod.Name] = cur
		if cur.terminating {
			w.seenDeleted[pod.UID] = true
		}
		if cur.isServing() {
			w.serving++
		}
	}
	w.maxUnavailable = w.replicas - w.serving
	w.worstInstant = "at the start: " + w.describeLocked()
}

func (w *PodWatcher) observe(kind watch.EventType, pod *corev1.Pod, now time.Time) {
	ordinal, ok := Ordinal(w.setName, pod.Name)
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
	revision := pod.Labels[appsv1.ControllerRevisionHashLabelKey]
	if (kind == watch.Deleted || pod.DeletionTimestamp != nil) && !w.seenDeleted[pod.UID] {
		w.seenDeleted[pod.UID] = true
		w.deletions = append(w.deletions, Deletion{Pod: pod.Name, Revision: revision, At: now})
		if _, down := w.pending[pod.Name]; !down {
			w.pending[pod.Name] = pendingDeletion{uid: pod.UID, at: now}
		}
	}
	var cur podState
	if kind == watch.Deleted {
		delete(w.pods, pod.Name)
	} else {
		if !had || old.uid != pod.UID {
			w.created = append(w.created, CreatedPod{Name: pod.Name, Ordinal: ordinal, Revision: revision})
		}
		cur = stateOf(pod)
		w.pods[pod.Name] = cur
	}
	if d, down := w.pending[pod.Name]; down && cur.isServing() && cur.uid != d.uid {
		w.replaced = append(w.replaced, Replacement{Deleted: d.at, Ready: now})
		delete(w.pending, pod.Name)
	}
	if had && old.isServing() {
		w.serving--
	}
	if cur.isServing() {
		w.serving++
	}
	if n := w.replicas - w.serving; n > w.maxUnavailable {
		w.maxUnavailable = n
		w.worstInstant = fmt.Sprintf("%s %s: %s", kind, pod.Name, w.describeLocked())
	}
}

// describeLocked names the ordinals without a serving pod, and why.
func (w *PodWatcher) describeLocked() string {
	var down []string
	for ordinal := range w.replicas {
		name := fmt.Sprintf("%s-%d", w.setName, ordinal)
		pod, ok := w.pods[name]
		switch {
		case !ok:
			down = append(down, name+"(missing)")
		case pod.terminating:
			down = append(down, name+"(terminating)")
		case !pod.ready:
			down = append(down, name+"(not ready)")
		}
	}
	return strings.Join(down, " ")
}

// Replicas is the number of ordinals watched.
func (w *PodWatcher) Replicas() int { return w.replicas }

// Seen is what a PodWatcher saw up to one moment.
type Seen struct {
	// MaxUnavailable is the most ordinals without a serving pod at one
	// instant since the watch began; WorstInstant says which and when.
	MaxUnavailable int
	WorstInstant   string
	// Deletions are in the order seen.
	Deletions []Deletion
	Created   []CreatedPod
	// Replaced are in the order the new pods were seen Ready.
	Replaced []Replacement
	// Serving counts the serving pods by revision.
	Serving map[string]int
}

// Seen returns what the watcher saw so far.
func (w *PodWatcher) Seen() Seen {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := Seen{
		MaxUnavailable: w.maxUnavailable,
		WorstInstant:   w.worstInstant,
		Deletions:      slices.Clone(w.deletions),
		Created:        slices.Clone(w.created),
		Replaced:       slices.Clone(w.replaced),
		Serving:        map[string]int{},
	}
	for _, p := range w.pods {
		if p.isServing() {
			s.Serving[p.revision]++
		}
	}
	return s
}

// DeletedTwice lists the pods deleted more than once while on the same
// revision, as "pod@revision xN".
func (s Seen) DeletedTwice() []string {
	counts := map[string]int{}
	for _, d := range s.Deletions {
		counts[d.Pod+"@"+d.Revision]++
	}
	var twice []string
	for _, key := range slices.Sorted(maps.Keys(counts)) {
		if n := counts[key]; n > 1 {
			twice = append(twice, fmt.Sprintf("%s x%d", key, n))
		}
	}
	return twice
}

// PodReady reports whether the pod's Ready condition is True.
func PodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Ordinal is the ordinal of a pod of the StatefulSet setName, if it is one.
func Ordinal(setName, podName string) (int, bool) {
	suffix, ok := strings.CutPrefix(podName, setName+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(suffix)
	return n, err == nil
}
