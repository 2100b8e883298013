package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	toolswatch "k8s.io/client-go/tools/watch"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// podWatcher records every pod event of one StatefulSet for the whole test
// and keeps the facts the tests assert on: the most pods ever unavailable at
// one instant, every deletion with the revision the pod ran, every creation
// with the revision it came back at.
type podWatcher struct {
	setName  string
	replicas func() int

	mu             sync.Mutex
	pods           map[string]*corev1.Pod
	maxUnavailable int
	worstInstant   string
	deletions      map[string]int // "pod@revision" -> times deleted
	created        []createdPod
	events         int
}

type createdPod struct {
	name     string
	ordinal  int
	revision string
	at       time.Time
}

func watchPods(t *testing.T, namespace, setName string, replicas func() int) *podWatcher {
	t.Helper()
	w := &podWatcher{setName: setName, replicas: replicas, pods: map[string]*corev1.Pod{}, deletions: map[string]int{}}
	cs := kubernetes.NewForConfigOrDie(clustertest.RestConfig())
	ctx, cancel := context.WithCancel(context.Background())
	lw := &cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Pods(namespace).List(ctx, o)
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			return cs.CoreV1().Pods(namespace).Watch(ctx, o)
		},
	}
	initial, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The listed pods are one instant: record them together.
	for i := range initial.Items {
		pod := &initial.Items[i]
		w.pods[pod.Name] = pod
	}
	w.maxUnavailable = w.unavailableLocked()
	w.worstInstant = "at the start: " + w.describeLocked()
	rw, err := toolswatch.NewRetryWatcherWithContext(ctx, initial.ResourceVersion, lw)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range rw.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			w.observe(ev.Type, pod)
		}
	}()
	t.Cleanup(func() { cancel(); rw.Stop(); <-done })
	return w
}

func (w *podWatcher) observe(kind watch.EventType, pod *corev1.Pod) {
	ordinal, ok := ordinalOf(w.setName, pod.Name)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events++
	old := w.pods[pod.Name]
	rev := pod.Labels[appsv1.ControllerRevisionHashLabelKey]
	switch {
	case kind == watch.Deleted:
		delete(w.pods, pod.Name)
	default:
		if old == nil || old.UID != pod.UID {
			w.created = append(w.created, createdPod{name: pod.Name, ordinal: ordinal, revision: rev, at: time.Now()})
		}
		w.pods[pod.Name] = pod
	}
	if pod.DeletionTimestamp != nil && (old == nil || old.DeletionTimestamp == nil || old.UID != pod.UID) && kind != watch.Deleted {
		w.deletions[pod.Name+"@"+rev]++
	}
	n := w.unavailableLocked()
	if n > w.maxUnavailable {
		w.maxUnavailable = n
		w.worstInstant = fmt.Sprintf("%s %s: %s", kind, pod.Name, w.describeLocked())
	}
}

// unavailableLocked counts ordinals without a Ready, non-terminating pod.
func (w *podWatcher) unavailableLocked() int {
	n := 0
	for ordinal := range w.replicas() {
		pod := w.pods[fmt.Sprintf("%s-%d", w.setName, ordinal)]
		if pod == nil || pod.DeletionTimestamp != nil || !podReady(pod) {
			n++
		}
	}
	return n
}

func (w *podWatcher) describeLocked() string {
	var down []string
	for ordinal := range w.replicas() {
		name := fmt.Sprintf("%s-%d", w.setName, ordinal)
		pod := w.pods[name]
		switch {
		case pod == nil:
			down = append(down, name+"(missing)")
		case pod.DeletionTimestamp != nil:
			down = append(down, name+"(terminating)")
		case !podReady(pod):
			down = append(down, name+"(not ready)")
		}
	}
	return strings.Join(down, " ")
}

// MaxUnavailable is the most pods unavailable at any observed instant.
func (w *podWatcher) MaxUnavailable() (int, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxUnavailable, w.worstInstant
}

// DeletedTwice lists pods deleted more than once while on the same revision.
func (w *podWatcher) DeletedTwice() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var twice []string
	for key, n := range w.deletions {
		if n > 1 {
			twice = append(twice, fmt.Sprintf("%s x%d", key, n))
		}
	}
	sort.Strings(twice)
	return twice
}

// Deletions counts pod deletions, any revision.
func (w *podWatcher) Deletions() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.deletions {
		n += c
	}
	return n
}

// Created returns the pods created since the watch began.
func (w *podWatcher) Created() []createdPod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]createdPod(nil), w.created...)
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
