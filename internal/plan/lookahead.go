package plan

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// kcmFollows says whether the pods of a lookahead (see lookahead) may be
// left authorised to the StatefulSet controller: its rolling update of the
// MaxUnavailableStatefulSet feature gate, with maxUnavailable 1, deletes an
// outdated pod at or above the partition only while no pod at all is
// unavailable, one at a time, highest ordinal first. That is the pod
// nextBatch picks first, within any budget, so that controller never takes
// down a pod sroll would not. The operator writes maxUnavailable 1 on the
// StatefulSet and the API server drops the field while the gate is off, so
// the field as observed says whether the gate is on. Without the gate that
// controller deletes the highest outdated pod at or above the partition
// whenever the pods above it are available, whatever is broken below, which
// could exceed the budget: no lookahead then.
//
// A pod whose handover (the stop hook, a switchover, a Consul drain) must
// come before its deletion, or whose availability reads more than that
// controller reads (a replication role, Consul health), is never left to
// it. Nor is any pod while pods below the partition come back at the
// target revision anyway, as in a rollback: pin keeps every pod pinned then.
func (d *decider) kcmFollows(w world) bool {
	return w.current != w.target && d.kcmMayFollow()
}

// kcmMayFollow is kcmFollows but for the revisions, which a template not yet
// written does not have.
func (d *decider) kcmMayFollow() bool {
	return d.in.Replication == nil && d.in.Consul == nil &&
		d.in.StatefulSet != nil && kcmMaxUnavailableIsOne(d.in.StatefulSet)
}

// templatePartition is the partition a new template goes out with: every
// pod pinned, so that the StatefulSet controller replaces nothing by
// itself; or, moving forward where that controller may follow
// (kcmMayFollow), a budget's worth of the current step's pods from the top
// already, the first batch's lookahead, so that the first batch goes with
// no partition write of its own after the template's. Should the template
// turn out to be the current revision's (pin then pins every pod again),
// that controller has replaced at most the highest outdated pod meanwhile,
// and only while every pod was available: the pod a rollback to it replaces
// first.
func (d *decider) templatePartition(rollingBack bool) int32 {
	if rollingBack || !d.kcmMayFollow() {
		return d.replicas
	}
	return d.ahead(stepGoal(d.steps, d.status.CurrentStepIndex, d.replicas), d.replicas)
}

// ahead is the partition a budget's worth of ordinals below from, never
// below the step's goal.
func (d *decider) ahead(goal, from int32) int32 {
	return max(goal, from-d.budget())
}

// kcmMaxUnavailableIsOne says whether the StatefulSet carries the
// rollingUpdate.maxUnavailable the operator writes, 1, as the StatefulSet
// controller resolves it.
func kcmMaxUnavailableIsOne(sts *appsv1.StatefulSet) bool {
	ru := sts.Spec.UpdateStrategy.RollingUpdate
	if ru == nil || ru.MaxUnavailable == nil || sts.Spec.Replicas == nil {
		return false
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, int(*sts.Spec.Replicas), false)
	return err == nil && n <= 1
}

// lookahead is the partition of a step that moves, lowest being the lowest
// ordinal the batch authorised. Where the StatefulSet controller follows
// (kcmFollows), the partition is lowered only once the batch reaches below
// it, and then by a budget's worth of ordinals below lowest, never below the
// step's goal: one StatefulSet write per budget's worth of pods instead of
// one per pod, and a freed slot costs a deletion alone. The outdated pods
// left authorised that way are at most a budget's worth and all inside the
// current step: one that dies comes back at the target revision, which the
// step does anyway, and the StatefulSet controller itself replaces one only
// when every pod is available. A rollout that stops moving takes them back
// (holdPartition).
//
//	replicas=10 budget=2 goal=0, partition 10: batch 9,8 -> partition 6
//	batch 7,6 (lowest 6, not below 6)         -> partition 6, no write
//	batch 5   (lowest 5)                      -> partition 3
func (d *decider) lookahead(w world, goal, lowest int32) int32 {
	partition := d.pin(w, lowest)
	if partition >= w.partition || !d.kcmFollows(w) {
		return partition
	}
	return d.ahead(goal, lowest)
}

// holdPartition raises the partition of a rollout that does not move (any
// hold: a pause, spec.paused, the budget, an analysis, a failure) to the
// lowest ordinal acted on, where the StatefulSet controller follows
// (kcmFollows): the lookahead's pods are pinned again, so that a pod that
// dies while the rollout waits comes back at the revision it ran, and the
// StatefulSet controller can't move a held rollout. Without that controller
// following, the partition is never below that ordinal.
func (d *decider) holdPartition() {
	if d.hold == nil || d.in.StatefulSet == nil {
		return
	}
	w, ok := d.worldOf()
	if !ok || !d.kcmFollows(w) {
		return
	}
	d.plan.Partition = max(d.plan.Partition, d.pods.actedFrom(w.target, d.plan.Delete))
}
