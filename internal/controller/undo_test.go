package controller

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
)

// undoWorld is a rollout at kv:v2 whose StatefulSet ran kv:v1 before.
func undoWorld(t *testing.T, undo string) (*fixture, *v1alpha1.StatefulSetRollout) {
	t.Helper()
	rollout := newRollout("kv", 3, "kv:v2")
	rollout.Annotations = map[string]string{v1alpha1.AnnotationUndo: undo}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kv", Namespace: "default", UID: "sts-uid",
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rollout, v1alpha1.GroupVersion.WithKind("StatefulSetRollout"))},
		},
		Spec:   *rollout.Spec.StatefulSetSpec.DeepCopy(),
		Status: appsv1.StatefulSetStatus{CurrentRevision: "kv-v2", UpdateRevision: "kv-v2"},
	}
	v1, v2 := newRollout("kv", 3, "kv:v1").Spec.Template, *rollout.Spec.Template.DeepCopy()
	v1.Labels[v1alpha1.LabelRollout], v2.Labels[v1alpha1.LabelRollout] = "kv", "kv"
	r1, r2 := revisionOf(t, sts, "kv-v1", 1, &v1), revisionOf(t, sts, "kv-v2", 2, &v2)
	return newFixture(t, rollout, sts, &r1, &r2), rollout
}

func TestUndoSetsTemplateAndRemovesAnnotation(t *testing.T) {
	f, rollout := undoWorld(t, "previous")
	reconcileOnce(t, f, "kv")

	var got v1alpha1.StatefulSetRollout
	if err := f.r.Get(context.Background(), client.ObjectKeyFromObject(rollout), &got); err != nil {
		t.Fatal(err)
	}
	if image := got.Spec.Template.Spec.Containers[0].Image; image != "kv:v1" {
		t.Errorf("spec.template image = %q, want kv:v1", image)
	}
	if _, ok := got.Spec.Template.Labels[v1alpha1.LabelRollout]; ok {
		t.Error("the operator's pod label leaked into spec.template")
	}
	if _, ok := got.Annotations[v1alpha1.AnnotationUndo]; ok {
		t.Error("the undo annotation was not removed")
	}
	if writes := f.writes.Take(); len(writes) != 1 || !strings.HasPrefix(writes[0], "update StatefulSetRollout") {
		t.Errorf("writes = %v, want one update of the rollout", writes)
	}
	if events := f.recorded(); len(events) != 1 || !strings.HasPrefix(events[0], "Normal "+plan.ReasonUndone) {
		t.Errorf("events = %v, want one Undone", events)
	}
}

func TestUndoUnknownRevisionIsDropped(t *testing.T) {
	f, rollout := undoWorld(t, "7")
	reconcileOnce(t, f, "kv")

	var got v1alpha1.StatefulSetRollout
	if err := f.r.Get(context.Background(), client.ObjectKeyFromObject(rollout), &got); err != nil {
		t.Fatal(err)
	}
	if image := got.Spec.Template.Spec.Containers[0].Image; image != "kv:v2" {
		t.Errorf("spec.template image = %q, want it unchanged (kv:v2)", image)
	}
	if _, ok := got.Annotations[v1alpha1.AnnotationUndo]; ok {
		t.Error("the unresolvable undo annotation was not removed")
	}
	if events := f.recorded(); len(events) != 1 || !strings.HasPrefix(events[0], "Warning "+plan.ReasonUndoFailed) || !strings.Contains(events[0], "revision 7") {
		t.Errorf("events = %v, want one UndoFailed warning naming revision 7", events)
	}
}
