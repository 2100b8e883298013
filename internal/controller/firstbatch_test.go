package controller

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The reconcile that writes a new template also deletes the first batch,
// from the API server's answer to that write: neither the StatefulSet
// controller's observation of the template nor a second reconcile comes
// before it.
func TestNewTemplateAndFirstBatchInOneReconcile(t *testing.T) {
	ctx := context.Background()
	f, key, rollout := firstReleaseCompleted(t)
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
	var sts appsv1.StatefulSet
	if err := f.r.Get(ctx, key, &sts); err != nil {
		t.Fatal(err)
	}
	if got := sts.Spec.Template.Spec.Containers[0].Image; got != "kv:v2" {
		t.Errorf("StatefulSet image %s, want kv:v2", got)
	}
	// The fake client keeps maxUnavailable as an API server with the
	// MaxUnavailableStatefulSet gate does: the template goes out with the
	// first batch's partition (a budget's worth, 1, from the top), so the
	// first batch needs no StatefulSet write of its own.
	if got := *sts.Spec.UpdateStrategy.RollingUpdate.Partition; got != 3 {
		t.Errorf("StatefulSet partition %d, want 3: kv-3 authorised with the template", got)
	}
	stsWrites := 0
	for _, w := range writes {
		if strings.HasPrefix(w, "patch StatefulSet ") || strings.HasPrefix(w, "update StatefulSet ") {
			stsWrites++
		}
	}
	if stsWrites != 1 {
		t.Errorf("%d StatefulSet writes in %v, want 1: the template and the first batch's partition together", stsWrites, writes)
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
