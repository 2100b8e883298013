package e2e

import (
	"context"
	"math/rand"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/internal/plan"
)

// 40 pods in steps of 25/50/100% with a budget of 10: never more than 10
// pods down at once, and no pod replaced twice.
func TestRolloutHoldsTheBudget(t *testing.T) {
	c := setup(t)
	ns := clustertest.Namespace(t)
	startOperator(t, ns)
	r := newRollout(ns, "kv", 40, intstr.FromInt32(10), percent(25), percent(50), percent(100))
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	waitCompleted(t, c, r, 2*time.Minute)

	w := watchPods(t, ns, r.Name, func() int { return 40 })
	setImage(t, c, r, "v2")
	done := waitCompleted(t, c, r, 3*time.Minute)

	if n, at := w.MaxUnavailable(); n > 10 {
		t.Errorf("%d pods unavailable at once (budget 10), at %s", n, at)
	}
	if twice := w.DeletedTwice(); len(twice) > 0 {
		t.Errorf("pods deleted twice on the same revision: %v", twice)
	}
	if n := w.Deletions(); n != 40 {
		t.Errorf("%d pods deleted, want exactly 40", n)
	}
	checkPods(t, c, r, func(int) string { return done.Status.UpdateRevision })
}

// Paused at 25%, pods die at random, old and new: each comes back at the
// revision the partition pins, never the new one by accident. Promote then
// finishes the rollout.
func TestPausedRolloutDoesNotLeak(t *testing.T) {
	c := setup(t)
	ns := clustertest.Namespace(t)
	startOperator(t, ns)
	r := newRollout(ns, "kv", 40, intstr.FromInt32(10), percent(25), pauseStep(), percent(100))
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	waitCompleted(t, c, r, 2*time.Minute)
	setImage(t, c, r, "v2")
	paused := waitPhase(t, c, r, v1alpha1.PhasePaused, 2*time.Minute)
	if paused.Status.CurrentStepIndex != 1 || paused.Status.Partition != 30 {
		t.Fatalf("paused at the wrong place: %s", describe(paused))
	}
	stable, update, partition := paused.Status.StableRevision, paused.Status.UpdateRevision, int(paused.Status.Partition)
	want := func(ordinal int) string {
		if ordinal >= partition {
			return update
		}
		return stable
	}

	w := watchPods(t, ns, r.Name, func() int { return 40 })
	killed := killRandomPods(t, c, ns, r.Name, 60, 30*time.Second)
	eventually(t, 2*time.Minute, func() (bool, string) {
		got := getRollout(t, c, r)
		return got.Status.ReadyReplicas == 40 && got.Status.Replicas == 40, describe(got)
	})
	leaks := 0
	for _, p := range w.Created() {
		if p.revision != want(p.ordinal) {
			leaks++
			t.Errorf("pod %s came back at %s, want %s", p.name, p.revision, want(p.ordinal))
		}
	}
	t.Logf("killed %d pods while paused, %d recreated, %d leaked", killed, len(w.Created()), leaks)
	checkPods(t, c, r, want)
	if got := getRollout(t, c, r); got.Status.Phase != v1alpha1.PhasePaused {
		t.Fatalf("the rollout moved while paused: %s", describe(got))
	}

	annotate(t, c, r, v1alpha1.AnnotationPromote, "1")
	done := waitCompleted(t, c, r, 3*time.Minute)
	checkPods(t, c, r, func(int) string { return done.Status.UpdateRevision })
}

// killRandomPods deletes n pods picked at random among those not already
// terminating, spread over the given time.
func killRandomPods(t *testing.T, c client.Client, ns, name string, n int, over time.Duration) int {
	t.Helper()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	interval := over / time.Duration(n)
	killed := 0
	for killed < n {
		pods := &corev1.PodList{}
		if err := c.List(context.Background(), pods, client.InNamespace(ns), client.MatchingLabels{"app": name}); err != nil {
			t.Fatal(err)
		}
		var alive []corev1.Pod
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				alive = append(alive, p)
			}
		}
		if len(alive) > 0 {
			victim := alive[rng.Intn(len(alive))]
			if err := c.Delete(context.Background(), &victim); err == nil {
				killed++
			}
		}
		time.Sleep(interval)
	}
	return killed
}

// A release whose pods never become Ready is rolled back on its own once
// the progress deadline passes.
func TestBrokenReleaseRollsBack(t *testing.T) {
	c := setup(t)
	ns := clustertest.Namespace(t)
	startOperator(t, ns)
	r := newRollout(ns, "kv", 10, intstr.FromInt32(2), percent(50), percent(100))
	deadline := int32(20)
	r.Spec.Rollout.ProgressDeadlineSeconds = &deadline
	r.Spec.Rollout.AutoRollback = true
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	stable := waitCompleted(t, c, r, 2*time.Minute).Status.StableRevision

	setImage(t, c, r, "broken-1")
	var got *v1alpha1.StatefulSetRollout
	eventually(t, 3*time.Minute, func() (bool, string) {
		got = getRollout(t, c, r)
		s := got.Status
		return s.Phase == v1alpha1.PhaseDegraded && s.RollbackReason == plan.RollbackDeadlineExceeded &&
			s.ReadyReplicas == 10 && s.UpdateRevision == stable, describe(got)
	})
	if !strings.Contains(got.Status.Message, "rolled back to "+stable) || !strings.Contains(got.Status.Message, "no progress for 20s") {
		t.Errorf("message does not say what happened: %q", got.Status.Message)
	}
	checkPods(t, c, r, func(int) string { return stable })
}

// The operator is SIGKILLed three times during a 60-pod rollout: the
// rollout completes, the budget held throughout and no pod was updated twice.
func TestOperatorKilledMidRollout(t *testing.T) {
	c := setup(t)
	ns := clustertest.Namespace(t)
	op := startOperator(t, ns)
	r := newRollout(ns, "kv", 60, intstr.FromInt32(6), percent(25), percent(50), percent(100))
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	waitCompleted(t, c, r, 2*time.Minute)

	w := watchPods(t, ns, r.Name, func() int { return 60 })
	setImage(t, c, r, "v2")
	for _, updated := range []int32{8, 24, 42} {
		eventually(t, 2*time.Minute, func() (bool, string) {
			got := getRollout(t, c, r)
			return got.Status.UpdatedReplicas >= updated, describe(got)
		})
		op.kill()
		time.Sleep(2 * time.Second)
		op.start()
	}
	done := waitCompleted(t, c, r, 3*time.Minute)
	if n, at := w.MaxUnavailable(); n > 6 {
		t.Errorf("%d pods unavailable at once (budget 6), at %s", n, at)
	}
	if twice := w.DeletedTwice(); len(twice) > 0 {
		t.Errorf("pods deleted twice on the same revision: %v", twice)
	}
	if n := w.Deletions(); n != 60 {
		t.Errorf("%d pods deleted, want exactly 60", n)
	}
	checkPods(t, c, r, func(int) string { return done.Status.UpdateRevision })
	t.Logf("operator started %d times", op.starts)
}

// An old pod broken for reasons of its own uses the whole budget of 1: the
// rollout waits, with a message saying why, and goes on once it is healthy.
func TestUnrelatedBrokenPodConsumesBudget(t *testing.T) {
	c := setup(t)
	ns := clustertest.Namespace(t)
	startOperator(t, ns)
	r := newRollout(ns, "kv", 6, intstr.FromInt32(1))
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	waitCompleted(t, c, r, 2*time.Minute)

	// One running pod breaks: a broken image (which the simulated kubelet
	// never reports Ready) and its readiness gone. It stays on its revision.
	broken := &corev1.Pod{}
	broken.Namespace, broken.Name = ns, "kv-2"
	patch := `{"spec":{"containers":[{"name":"kv","image":"` + image + `:broken-1"}]}}`
	if err := c.Patch(context.Background(), broken, client.RawPatch(types.StrategicMergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
	notReady := `{"status":{"conditions":[{"type":"Ready","status":"False","reason":"Broken"}]}}`
	if err := c.Status().Patch(context.Background(), broken, client.RawPatch(types.StrategicMergePatchType, []byte(notReady))); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, func() (bool, string) {
		got := getRollout(t, c, r)
		return got.Status.ReadyReplicas == 5, describe(got)
	})

	w := watchPods(t, ns, r.Name, func() int { return 6 })
	setImage(t, c, r, "v2")
	time.Sleep(10 * time.Second)
	held := getRollout(t, c, r)
	if w.Deletions() != 0 {
		t.Fatalf("deleted pods while the budget was used by kv-2: %s", describe(held))
	}
	if !strings.Contains(held.Status.Message, "waiting for the disruption budget") || !strings.Contains(held.Status.Message, "kv-2") {
		t.Errorf("message does not say what the rollout waits for: %q", held.Status.Message)
	}

	// Whoever broke it fixes it: the pod comes back at the stable revision
	// (it is below the partition) and Ready, and the rollout goes on.
	if err := c.Delete(context.Background(), broken); err != nil {
		t.Fatal(err)
	}
	done := waitCompleted(t, c, r, 2*time.Minute)
	if n, at := w.MaxUnavailable(); n > 1 {
		t.Errorf("%d pods unavailable at once (budget 1), at %s", n, at)
	}
	checkPods(t, c, r, func(int) string { return done.Status.UpdateRevision })
}
