package e2e

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// createReady creates the rollout and waits until its v1 pods are all
// Ready: the starting point of most tests.
func createReady(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout) *v1alpha1.StatefulSetRollout {
	t.Helper()
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
}

// checkPods lists the set's pods and checks each against want(ordinal).
func checkPods(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, want func(ordinal int) string) {
	t.Helper()
	pods := &corev1.PodList{}
	if err := c.List(context.Background(), pods, client.InNamespace(r.Namespace), client.MatchingLabels{"app": r.Name}); err != nil {
		t.Fatal(err)
	}
	for _, pod := range pods.Items {
		ordinal, ok := e2eutil.Ordinal(r.Name, pod.Name)
		if !ok {
			continue
		}
		if got := pod.Labels[appsv1.ControllerRevisionHashLabelKey]; got != want(ordinal) {
			t.Errorf("pod %s runs %s, want %s", pod.Name, got, want(ordinal))
		}
	}
}

// checkEachReplacedOnce checks a rollout of every pod: never more than
// budget pods unavailable at once, and each of the replicas pods deleted
// exactly once.
func checkEachReplacedOnce(t *testing.T, seen e2eutil.Seen, budget, replicas int) {
	t.Helper()
	if n := seen.MaxUnavailable; n > budget {
		t.Errorf("%d pods unavailable at once (budget %d), at %s", n, budget, seen.WorstInstant)
	}
	if twice := seen.DeletedTwice(); len(twice) > 0 {
		t.Errorf("pods deleted twice on the same revision: %v", twice)
	}
	if n := len(seen.Deletions); n != replicas {
		t.Errorf("%d pods deleted, want exactly %d", n, replicas)
	}
}
