package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestStatefulSetChangedPassesWhatAReconcileReads(t *testing.T) {
	base := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kv", Namespace: "ns", Generation: 3, ResourceVersion: "10",
			Annotations: map[string]string{v1alpha1.AnnotationTemplateHash: "a"},
		},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](10),
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](5)},
			},
		},
		Status: appsv1.StatefulSetStatus{
			ObservedGeneration: 3, UpdateRevision: "kv-2", CurrentRevision: "kv-1",
			Replicas: 10, ReadyReplicas: 9, CurrentReplicas: 5, UpdatedReplicas: 4, AvailableReplicas: 9,
		},
	}
	cases := []struct {
		name   string
		change func(*appsv1.StatefulSet)
		want   bool
	}{
		{"pod counts alone", func(s *appsv1.StatefulSet) {
			s.ResourceVersion = "11"
			s.Status.ReadyReplicas, s.Status.UpdatedReplicas, s.Status.AvailableReplicas = 10, 5, 10
		}, false},
		{"nothing but the resourceVersion", func(s *appsv1.StatefulSet) { s.ResourceVersion = "11" }, false},
		{"update revision", func(s *appsv1.StatefulSet) { s.Status.UpdateRevision = "kv-3" }, true},
		{"current revision", func(s *appsv1.StatefulSet) { s.Status.CurrentRevision = "kv-2" }, true},
		{"observed generation", func(s *appsv1.StatefulSet) { s.Status.ObservedGeneration = 4 }, true},
		{"collision count", func(s *appsv1.StatefulSet) { s.Status.CollisionCount = ptr.To[int32](1) }, true},
		{"partition", func(s *appsv1.StatefulSet) {
			s.Generation = 4
			s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](3)
		}, true},
		{"template hash", func(s *appsv1.StatefulSet) { s.Annotations[v1alpha1.AnnotationTemplateHash] = "b" }, true},
		{"owner", func(s *appsv1.StatefulSet) {
			s.OwnerReferences = []metav1.OwnerReference{{Kind: "StatefulSetRollout", Name: "kv", Controller: ptr.To(true)}}
		}, true},
		{"deletion", func(s *appsv1.StatefulSet) { s.DeletionTimestamp = &metav1.Time{} }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			after := base.DeepCopy()
			c.change(after)
			got := statefulSetChanged.Update(event.UpdateEvent{ObjectOld: base, ObjectNew: after})
			if got != c.want {
				t.Errorf("statefulSetChanged = %t, want %t", got, c.want)
			}
		})
	}
}
