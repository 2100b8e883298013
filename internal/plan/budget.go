package plan

import "k8s.io/apimachinery/pkg/util/intstr"

// maxUnavailable resolves an int-or-percent budget against the replicas,
// rounding down but never below one pod so a rollout can always move.
func maxUnavailable(value intstr.IntOrString, replicas int32) int32 {
	n, err := intstr.GetScaledValueFromIntOrPercent(&value, int(replicas), false)
	if err != nil || n < 1 {
		return 1
	}
	return int32(n)
}

// budget is the forward rollout's maxUnavailable, resolved.
func (d *decider) budget() int32 {
	return maxUnavailable(d.rollout.Spec.Rollout.MaxUnavailableOrDefault(), d.replicas)
}

// batch is the outcome of one walk down the ordinals.
type batch struct {
	// delete are the pods to replace now, highest ordinal first.
	delete []Pod
	// lowest is the lowest ordinal the walk authorised; the partition pin
	// may come down to it.
	lowest int32
	// done is true when every ordinal from the goal up runs the target
	// revision and is available.
	done bool
}

// nextBatch walks from the highest ordinal down to goal and picks the pods
// to replace with the target revision. An available outdated pod costs one
// unit of budget; a pod that is already unavailable (broken, missing or
// terminating) costs nothing, since replacing it can't make things worse.
// The walk stops at the first pod it can't afford, so the authorised
// ordinals are always one contiguous range from the top: the partition can
// then authorise exactly this batch and nothing else.
func (ps pods) nextBatch(goal, budget int32, target string) batch {
	b := batch{lowest: ps.replicas, done: true}
	for ordinal := ps.replicas - 1; ordinal >= goal; ordinal-- {
		p, ok := ps.at(ordinal)
		switch {
		case !ok || p.Terminating:
			b.done = false
		case p.Revision == target:
			if !p.Available {
				b.done = false
			}
		case !p.Available:
			b.done = false
			b.delete = append(b.delete, p)
		case budget > 0:
			budget--
			b.done = false
			b.delete = append(b.delete, p)
		default:
			b.done = false
			return b
		}
		b.lowest = ordinal
	}
	return b
}
