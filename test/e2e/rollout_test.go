package e2e

import (
	"context"
	"fmt"
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
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// 40 pods in steps of 25/50/100% with a budget of 10: never more than 10
// pods down at once, and no pod replaced twice.
func TestRolloutHoldsTheBudget(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	r := e2eutil.NewRollout(ns, "kv", 40, intstr.FromInt32(10), e2eutil.Percent(25), e2eutil.Percent(50), e2eutil.Percent(100))
	createReady(t, c, r)

	w := e2eutil.WatchPods(t, clustertest.RestConfig(), ns, r.Name, 40)
	e2eutil.SetImage(t, c, r, "v2")
	done := e2eutil.WaitCompleted(t, c, r, 3*time.Minute)

	checkEachReplacedOnce(t, w.Seen(), 10, 40)
	checkPods(t, c, r, func(int) string { return done.Status.UpdateRevision })
}

// Paused at 25%, pods die at random, old and new: each comes back at the
// revision the partition pins, never the new one by accident. Promote then
// finishes the rollout.
func TestPausedRolloutDoesNotLeak(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	r := e2eutil.NewRollout(ns, "kv", 40, intstr.FromInt32(10), e2eutil.Percent(25), e2eutil.Pause(0), e2eutil.Percent(100))
	createReady(t, c, r)
	e2eutil.SetImage(t, c, r, "v2")
	paused := e2eutil.WaitPhase(t, c, r, v1alpha1.PhasePaused, 2*time.Minute)
	if paused.Status.CurrentStepIndex != 1 || paused.Status.Partition != 30 {
		t.Fatalf("paused at the wrong place: %s", e2eutil.Describe(paused))
	}
	stable, update, partition := paused.Status.StableRevision, paused.Status.UpdateRevision, int(paused.Status.Partition)
	want := func(ordinal int) string {
		if ordinal >= partition {
			return update
		}
		return stable
	}

	w := e2eutil.WatchPods(t, clustertest.RestConfig(), ns, r.Name, 40)
	killed := killRandomPods(t, c, ns, r.Name, 60, 30*time.Second)
	e2eutil.WaitRollout(t, c, r, 2*time.Minute, "40 pods Ready", func(got *v1alpha1.StatefulSetRollout) bool {
		return got.Status.ReadyReplicas == 40 && got.Status.Replicas == 40
	})
	created := w.Seen().Created
	leaks := 0
	for _, p := range created {
		if p.Revision != want(p.Ordinal) {
			leaks++
			t.Errorf("pod %s came back at %s, want %s", p.Name, p.Revision, want(p.Ordinal))
		}
	}
	t.Logf("killed %d pods while paused, %d recreated, %d leaked", killed, len(created), leaks)
	checkPods(t, c, r, want)
	if got := e2eutil.GetRollout(t, c, r); got.Status.Phase != v1alpha1.PhasePaused {
		t.Fatalf("the rollout moved while paused: %s", e2eutil.Describe(got))
	}

	e2eutil.Promote(t, c, r)
	done := e2eutil.WaitCompleted(t, c, r, 3*time.Minute)
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
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	r := e2eutil.NewRollout(ns, "kv", 10, intstr.FromInt32(2), e2eutil.Percent(50), e2eutil.Percent(100))
	deadline := int32(20)
	r.Spec.Rollout.ProgressDeadlineSeconds = &deadline
	r.Spec.Rollout.AutoRollback = true
	stable := createReady(t, c, r).Status.StableRevision

	e2eutil.SetImage(t, c, r, "broken-1")
	got := e2eutil.WaitRollout(t, c, r, 3*time.Minute, "rolled back", func(got *v1alpha1.StatefulSetRollout) bool {
		s := got.Status
		return s.Phase == v1alpha1.PhaseDegraded && s.RollbackReason == plan.RollbackDeadlineExceeded &&
			s.ReadyReplicas == 10 && s.UpdateRevision == stable
	})
	if !strings.Contains(got.Status.Message, "rolled back to "+stable) || !strings.Contains(got.Status.Message, "no progress for 20s") {
		t.Errorf("message does not say what happened: %q", got.Status.Message)
	}
	checkPods(t, c, r, func(int) string { return stable })
}

// The operator is SIGKILLed three times during a 60-pod rollout: the
// rollout completes, the budget held throughout and no pod was updated twice.
func TestOperatorKilledMidRollout(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	op := e2eutil.StartOperator(t, ns)
	r := e2eutil.NewRollout(ns, "kv", 60, intstr.FromInt32(6), e2eutil.Percent(25), e2eutil.Percent(50), e2eutil.Percent(100))
	createReady(t, c, r)

	w := e2eutil.WatchPods(t, clustertest.RestConfig(), ns, r.Name, 60)
	e2eutil.SetImage(t, c, r, "v2")
	for _, updated := range []int32{8, 24, 42} {
		e2eutil.WaitRollout(t, c, r, 2*time.Minute, fmt.Sprintf("%d pods updated", updated), func(got *v1alpha1.StatefulSetRollout) bool {
			return got.Status.UpdatedReplicas >= updated
		})
		op.Kill()
		time.Sleep(2 * time.Second)
		op.Start(t)
	}
	done := e2eutil.WaitCompleted(t, c, r, 3*time.Minute)
	checkEachReplacedOnce(t, w.Seen(), 6, 60)
	checkPods(t, c, r, func(int) string { return done.Status.UpdateRevision })
	t.Logf("operator started %d times", op.Starts())
}

// An old pod broken for reasons of its own uses the whole budget of 1: the
// rollout waits, with a message saying why, and goes on once it is healthy.
func TestUnrelatedBrokenPodConsumesBudget(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	r := e2eutil.NewRollout(ns, "kv", 6, intstr.FromInt32(1))
	createReady(t, c, r)

	// One running pod breaks: a broken image (which the simulated kubelet
	// never reports Ready) and its readiness gone. It stays on its revision.
	broken := &corev1.Pod{}
	broken.Namespace, broken.Name = ns, "kv-2"
	patch := `{"spec":{"containers":[{"name":"kv","image":"` + e2eutil.Image + `:broken-1"}]}}`
	if err := c.Patch(context.Background(), broken, client.RawPatch(types.StrategicMergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
	notReady := `{"status":{"conditions":[{"type":"Ready","status":"False","reason":"Broken"}]}}`
	if err := c.Status().Patch(context.Background(), broken, client.RawPatch(types.StrategicMergePatchType, []byte(notReady))); err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitRollout(t, c, r, time.Minute, "5 pods Ready", func(got *v1alpha1.StatefulSetRollout) bool {
		return got.Status.ReadyReplicas == 5
	})

	w := e2eutil.WatchPods(t, clustertest.RestConfig(), ns, r.Name, 6)
	e2eutil.SetImage(t, c, r, "v2")
	time.Sleep(10 * time.Second)
	held := e2eutil.GetRollout(t, c, r)
	if len(w.Seen().Deletions) != 0 {
		t.Fatalf("deleted pods while the budget was used by kv-2: %s", e2eutil.Describe(held))
	}
	if !strings.Contains(held.Status.Message, "waiting for the disruption budget") || !strings.Contains(held.Status.Message, "kv-2") {
		t.Errorf("message does not say what the rollout waits for: %q", held.Status.Message)
	}

	// Whoever broke it fixes it: the pod comes back at the stable revision
	// (it is below the partition) and Ready, and the rollout goes on.
	if err := c.Delete(context.Background(), broken); err != nil {
		t.Fatal(err)
	}
	done := e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
	if seen := w.Seen(); seen.MaxUnavailable > 1 {
		t.Errorf("%d pods unavailable at once (budget 1), at %s", seen.MaxUnavailable, seen.WorstInstant)
	}
	checkPods(t, c, r, func(int) string { return done.Status.UpdateRevision })
}
