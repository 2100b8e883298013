package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
)

func reconcileOnce(t *testing.T, f *fixture, name string) ctrl.Result {
	t.Helper()
	result, err := f.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: name}})
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return result
}

func TestReconcileCreatesStatefulSetThenWritesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, newRollout("kv", 3, "kv:v1"))

	reconcileOnce(t, f, "kv")
	if got := f.writes.Take(); len(got) != 3 {
		t.Errorf("first reconcile wrote %v, want the status, the governing Service and the StatefulSet", got)
	}
	var sts appsv1.StatefulSet
	if err := f.r.Get(ctx, types.NamespacedName{Namespace: "default", Name: "kv"}, &sts); err != nil {
		t.Fatalf("the StatefulSet was not created: %v", err)
	}

	// Nothing changes until the StatefulSet controller (absent here) acts:
	// once the status says so, reconciles write nothing.
	reconcileOnce(t, f, "kv")
	f.writes.Take()
	for range 3 {
		reconcileOnce(t, f, "kv")
		if got := f.writes.Take(); len(got) != 0 {
			t.Fatalf("a reconcile with nothing to do wrote %v", got)
		}
	}
}

func TestReconcileRemovesHandledActions(t *testing.T) {
	ctx := context.Background()
	rollout := newRollout("kv", 3, "kv:v1")
	rollout.Annotations = map[string]string{v1alpha1.AnnotationPromote: "1", "keep": "me"}
	f := newFixture(t, rollout)

	reconcileOnce(t, f, "kv")
	var got v1alpha1.StatefulSetRollout
	if err := f.r.Get(ctx, client.ObjectKeyFromObject(rollout), &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Annotations[v1alpha1.AnnotationPromote]; ok || got.Annotations["keep"] != "me" {
		t.Errorf("annotations = %v, want the promote request removed and the rest kept", got.Annotations)
	}
	if got.Status.HandledActions[v1alpha1.AnnotationPromote] != "1" {
		t.Errorf("status.handledActions = %v, want the promote recorded", got.Status.HandledActions)
	}
}

func TestReconcileLeavesForeignStatefulSetAlone(t *testing.T) {
	rollout := newRollout("kv", 3, "kv:v1")
	owner := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "someone", UID: "someone-uid"}}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kv", Namespace: "default",
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(owner, appsv1.SchemeGroupVersion.WithKind("Deployment"))},
		},
		Spec: *rollout.Spec.StatefulSetSpec.DeepCopy(),
	}
	f := newFixture(t, rollout, sts)

	reconcileOnce(t, f, "kv")
	if got := f.writes.Take(); len(got) != 0 {
		t.Errorf("wrote %v to a rollout whose StatefulSet another controller owns", got)
	}
	if got := f.recorded(); len(got) != 1 || !strings.HasPrefix(got[0], "Warning "+ReasonAdoptionRefused) {
		t.Errorf("events = %v, want one AdoptionRefused warning", got)
	}
}

func TestDeletePodsHonoursPreconditions(t *testing.T) {
	ctx := context.Background()
	rollout := newRollout("kv", 3, "kv:v1")
	current := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kv-2", Namespace: "default", UID: "uid-2"}}
	changed := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kv-1", Namespace: "default", UID: "uid-1"}}
	f := newFixture(t, rollout, current, changed)
	for _, pod := range []*corev1.Pod{current, changed} {
		if err := f.r.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			t.Fatal(err)
		}
	}

	err := f.r.deletePods(ctx, rollout, []plan.PodRef{
		{Name: "kv-2", UID: "uid-2", ResourceVersion: current.ResourceVersion},
		{Name: "kv-1", UID: "uid-1", ResourceVersion: "an older version"},
		{Name: "kv-0", UID: "uid-0", ResourceVersion: "1"}, // gone already
	})
	if !errors.Is(err, errStale) {
		t.Errorf("deletePods error = %v, want a stale retry for the changed pod", err)
	}
	if err := f.r.Get(ctx, client.ObjectKeyFromObject(current), &corev1.Pod{}); !apierrors.IsNotFound(err) {
		t.Errorf("the pod seen as planned was not deleted: %v", err)
	}
	if err := f.r.Get(ctx, client.ObjectKeyFromObject(changed), &corev1.Pod{}); err != nil {
		t.Errorf("the pod that changed since it was observed was deleted: %v", err)
	}
	stale := observe(t, &f.r.deletions, client.ObjectKeyFromObject(rollout), []*corev1.Pod{current})
	if stale[0].DeletionTimestamp == nil {
		t.Error("the deletion was not remembered for a stale cache")
	}
}

// A pod of a batch that the StatefulSet controller deleted first (the
// partition's lookahead authorised it), or replaced already, is deleted as
// the plan wanted: no error, no retry, and a stale cache still shows it
// going.
func TestDeletePodsTakesADeletionByAnotherAsDone(t *testing.T) {
	ctx := context.Background()
	rollout := newRollout("kv", 3, "kv:v1")
	terminating := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kv-2", Namespace: "default", UID: "uid-2", Finalizers: []string{"test/hold"}}}
	replaced := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kv-1", Namespace: "default", UID: "uid-1-new"}}
	f := newFixture(t, rollout, terminating, replaced)
	if err := f.r.Get(ctx, client.ObjectKeyFromObject(terminating), terminating); err != nil {
		t.Fatal(err)
	}
	observed := terminating.ResourceVersion
	if err := f.r.Delete(ctx, terminating.DeepCopy()); err != nil { // the StatefulSet controller's
		t.Fatal(err)
	}

	err := f.r.deletePods(ctx, rollout, []plan.PodRef{
		{Name: "kv-2", UID: "uid-2", ResourceVersion: observed},
		{Name: "kv-1", UID: "uid-1", ResourceVersion: "1"},
	})
	if err != nil {
		t.Errorf("deletePods error = %v, want none: both deletions happened", err)
	}
	if err := f.r.Get(ctx, client.ObjectKeyFromObject(replaced), &corev1.Pod{}); err != nil {
		t.Errorf("the pod that replaced the deleted one was deleted: %v", err)
	}
	stale := []*corev1.Pod{terminating.DeepCopy(), replaced.DeepCopy()}
	stale[0].DeletionTimestamp = nil
	stale[1].UID = "uid-1"
	for _, pod := range observe(t, &f.r.deletions, client.ObjectKeyFromObject(rollout), stale) {
		if pod.DeletionTimestamp == nil {
			t.Errorf("%s (%s), deleted by another, would count as available in a stale cache", pod.Name, pod.UID)
		}
	}
}

func TestReconcileForgetsDeletedRollout(t *testing.T) {
	f := newFixture(t)
	key := types.NamespacedName{Namespace: "default", Name: "kv"}
	f.r.deletions.expect(key, "uid-2", f.clock.Now())
	reconcileOnce(t, f, "kv")
	if len(f.r.deletions.pending) != 0 {
		t.Error("the expectations of a deleted rollout were kept")
	}
}

// A status that only reports what was observed (here, pods appearing) is
// written at most once per statusInterval; the reconcile asks to be run
// again when it is due.
func TestReconcileSpacesReportOnlyStatusWrites(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, newRollout("kv", 3, "kv:v1"))
	reconcileOnce(t, f, "kv")
	reconcileOnce(t, f, "kv")
	f.writes.Take()
	var sts appsv1.StatefulSet
	if err := f.r.Get(ctx, types.NamespacedName{Namespace: "default", Name: "kv"}, &sts); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: "kv-0", Namespace: "default", Labels: sts.Spec.Template.Labels,
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(&sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))},
	}}
	if err := f.r.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	f.writes.Take()

	result := reconcileOnce(t, f, "kv")
	if got := f.writes.Take(); len(got) != 0 {
		t.Errorf("a count-only status change right after a status write was written at once: %v", got)
	}
	if result.RequeueAfter <= 0 || result.RequeueAfter > statusInterval {
		t.Errorf("RequeueAfter = %v, want the deferred status due within %v", result.RequeueAfter, statusInterval)
	}
	f.clock.Step(statusInterval)
	reconcileOnce(t, f, "kv")
	if got := f.writes.Take(); len(got) != 1 || !strings.Contains(got[0], "StatefulSetRollout") {
		t.Errorf("once due, the reconcile wrote %v, want the status", got)
	}
	var got v1alpha1.StatefulSetRollout
	if err := f.r.Get(ctx, types.NamespacedName{Namespace: "default", Name: "kv"}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Replicas != 1 {
		t.Errorf("status.replicas = %d, want the pod counted", got.Status.Replicas)
	}
}
