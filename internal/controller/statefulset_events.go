package controller

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// statefulSetChanged passes the StatefulSet updates a reconcile reads: its
// metadata and spec, and of its status which revisions it moves between,
// the generation observed and the collisions; not the pod counts the
// StatefulSet controller writes after its syncs. The rollout counts the
// pods itself, and their own events start a reconcile; an update of the
// counts alone, about one per pod change, only started a reconcile that
// found nothing new while the other rollouts waited in the queue.
var statefulSetChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		before, okBefore := e.ObjectOld.(*appsv1.StatefulSet)
		after, okAfter := e.ObjectNew.(*appsv1.StatefulSet)
		if !okBefore || !okAfter {
			return true
		}
		return !equality.Semantic.DeepEqual(statefulSetRead(before), statefulSetRead(after))
	},
}

// statefulSetRead is the StatefulSet without what a reconcile does not read.
func statefulSetRead(sts *appsv1.StatefulSet) *appsv1.StatefulSet {
	read := &appsv1.StatefulSet{ObjectMeta: *sts.ObjectMeta.DeepCopy(), Spec: sts.Spec}
	read.ResourceVersion, read.ManagedFields = "", nil
	read.Status = appsv1.StatefulSetStatus{
		ObservedGeneration: sts.Status.ObservedGeneration,
		UpdateRevision:     sts.Status.UpdateRevision,
		CurrentRevision:    sts.Status.CurrentRevision,
		CollisionCount:     sts.Status.CollisionCount,
	}
	return read
}
