package smoke

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// TestAdoptUndoAndRollBack converts a running StatefulSet into a rollout,
// then goes back to an earlier revision twice: by undo and by an automatic
// rollback. Both times the StatefulSet controller must reuse the revision,
// which it does only if sroll wrote its template back byte for byte.
func TestAdoptUndoAndRollBack(t *testing.T) {
	ctx := t.Context()
	ns := clustertest.Namespace(t)
	c, _, _ := startOperator(t, ns)

	rollout := newRollout(ns, "kv", 6, "kv:v1")
	rollout.Spec.Rollout.MaxUnavailable = ptr.To(intstr.FromString("50%"))
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kv"},
		Spec:       *rollout.Spec.StatefulSetSpec.DeepCopy(),
	}
	sts.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	if err := c.Create(ctx, sts); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, sts, "6 ready pods", func() bool { return sts.Status.ReadyReplicas == 6 })

	if err := c.Create(ctx, rollout); err != nil {
		t.Fatal(err)
	}
	adopted := waitCompleted(t, c, rollout)
	if err := c.Get(ctx, client.ObjectKeyFromObject(sts), sts); err != nil {
		t.Fatal(err)
	}
	if owner := metav1.GetControllerOf(sts); owner == nil || owner.UID != rollout.UID {
		t.Fatalf("StatefulSet controller = %v, want the rollout", owner)
	}
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(ns), client.HasLabels{v1alpha1.LabelRollout}); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 6 {
		t.Errorf("%d pods carry %s after the adoption, want 6", len(pods.Items), v1alpha1.LabelRollout)
	}

	setImage(t, c, rollout, "kv:v2")
	waitCompleted(t, c, rollout)

	annotate(t, c, rollout, v1alpha1.AnnotationUndo, "previous")
	waitFor(t, c, rollout, "the undo", func() bool {
		_, pending := rollout.Annotations[v1alpha1.AnnotationUndo]
		return !pending && rollout.Spec.Template.Spec.Containers[0].Image == "kv:v1"
	})
	if _, ok := rollout.Spec.Template.Labels[v1alpha1.LabelRollout]; ok {
		t.Errorf("undo copied the operator's label into spec.template: %v", rollout.Spec.Template.Labels)
	}
	if got := waitCompleted(t, c, rollout); got != adopted {
		t.Errorf("undo rolled out revision %s, want %s reused", got, adopted)
	}

	update(t, c, rollout, func() {
		rollout.Spec.Template.Spec.Containers[0].Image = "kv:broken"
		rollout.Spec.Rollout.ProgressDeadlineSeconds = ptr.To[int32](3)
		rollout.Spec.Rollout.AutoRollback = true
	})
	waitFor(t, c, rollout, "the automatic rollback", func() bool {
		return rollout.Generation == rollout.Status.ObservedGeneration && rollout.Status.Phase == v1alpha1.PhaseDegraded
	})
	if got := waitOnRevision(t, c, rollout); got != adopted {
		t.Errorf("the rollback went to revision %s, want %s reused", got, adopted)
	}
}
