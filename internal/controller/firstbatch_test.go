package controller

import (
	"context"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// The reconcile that writes a new template also deletes the first batch,
// from the API server's answer to that write: neither the StatefulSet
// controller's observation of the template nor a second reconcile comes
// before it.
func TestNewTemplateAndFirstBatchInOneReconcile(t *testing.T) {
	ctx := context.Background()
	key := types.NamespacedName{Namespace: "default", Name: "kv"}
	f := newFixtureOn(t, fake.NewClientBuilder().WithObjects(newRollout("kv", 4, "kv:v1")).
		WithInterceptorFuncs(interceptor.Funcs{Patch: bumpStatefulSetGeneration}))
	reconcileOnce(t, f, "kv")

	// Play the StatefulSet controller: the revision, the pods, the status.
	var sts appsv1.StatefulSet
	if err := f.r.Get(ctx, key, &sts); err != nil {
		t.Fatal(err)
	}
	rev := revisionOf(t, &sts, "kv-1", 1, &sts.Spec.Template)
	if err := f.r.Create(ctx, &rev); err != nil {
		t.Fatal(err)
	}
	for ordinal := range 4 {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: "kv-" + string(rune('0'+ordinal)), Namespace: "default",
			Labels:          map[string]string{"app": "kv", v1alpha1.LabelRollout: "kv", appsv1.ControllerRevisionHashLabelKey: "kv-1"},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(&sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))},
		}}
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
		if err := f.r.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 4, ReadyReplicas: 4,
		CurrentRevision: "kv-1", UpdateRevision: "kv-1"}
	if err := f.r.Status().Update(ctx, &sts); err != nil {
		t.Fatal(err)
	}
	var rollout v1alpha1.StatefulSetRollout
	for range 3 {
		f.clock.Step(statusInterval)
		reconcileOnce(t, f, "kv")
		if err := f.r.Get(ctx, key, &rollout); err != nil {
			t.Fatal(err)
		}
	}
	if rollout.Status.Phase != v1alpha1.PhaseCompleted {
		t.Fatalf("the rollout is %s before the new image, want Completed: %s", rollout.Status.Phase, rollout.Status.Message)
	}
	f.writes.Take()

	rollout.Spec.Template.Spec.Containers[0].Image = "kv:v2"
	if err := f.r.Update(ctx, &rollout); err != nil {
		t.Fatal(err)
	}
	f.writes.Take()
	reconcileOnce(t, f, "kv")
	writes := f.writes.Take()
	if !slices.Contains(writes, "delete Pod default/kv-3") {
		t.Errorf("the reconcile that wrote the new template wrote %v, want the first batch (kv-3) deleted too", writes)
	}
	if err := f.r.Get(ctx, key, &sts); err != nil {
		t.Fatal(err)
	}
	if got := sts.Spec.Template.Spec.Containers[0].Image; got != "kv:v2" {
		t.Errorf("StatefulSet image %s, want kv:v2", got)
	}
	// The fake client keeps maxUnavailable as an API server with the
	// MaxUnavailableStatefulSet gate does: the partition runs a budget's
	// worth (1) ahead of the batch.
	if got := *sts.Spec.UpdateStrategy.RollingUpdate.Partition; got != 2 {
		t.Errorf("StatefulSet partition %d, want 2: kv-3 deleted, kv-2 in the lookahead", got)
	}
	var pods corev1.PodList
	if err := f.r.List(ctx, &pods, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 3 {
		t.Errorf("%d pods left, want 3 (budget 1 of 4)", len(pods.Items))
	}
}

// bumpStatefulSetGeneration does what the API server does and the fake
// client does not: a change of a StatefulSet's spec increments its
// generation, so that the StatefulSet controller's observedGeneration tells
// whether it saw the change.
func bumpStatefulSetGeneration(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	sts, ok := obj.(*appsv1.StatefulSet)
	if !ok {
		return c.Patch(ctx, obj, patch, opts...)
	}
	var before appsv1.StatefulSet
	if err := c.Get(ctx, client.ObjectKeyFromObject(sts), &before); err != nil {
		return err
	}
	if err := c.Patch(ctx, obj, patch, opts...); err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(before.Spec, sts.Spec) {
		return nil
	}
	sts.Generation = before.Generation + 1
	return c.Update(ctx, sts)
}
