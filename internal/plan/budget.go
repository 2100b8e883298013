package plan

import (
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// maxUnavailable resolves an int-or-percent budget against the replicas,
// rounding down but never below one pod so a rollout can always move.
func maxUnavailable(value intstr.IntOrString, replicas int32) int32 {
	n, err := intstr.GetScaledValueFromIntOrPercent(&value, int(replicas), false)
	if err != nil || n < 1 {
		return 1
	}
	return int32(n)
}

// unavailable counts the ordinals that don't serve right now: missing,
// terminating or not yet Ready for minReadySeconds. Pods broken for reasons
// of their own count too, so they consume the budget.
func unavailable(pods map[int32]podView, replicas int32, now time.Time, minReady time.Duration) int32 {
	var n int32
	for ordinal := range replicas {
		p, ok := pods[ordinal]
		if !ok || !p.available(now, minReady) {
			n++
		}
	}
	return n
}

// batch is the outcome of one walk down the ordinals.
type batch struct {
	// delete are the pods to replace now, highest ordinal first.
	delete []podView
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
func nextBatch(pods map[int32]podView, replicas, goal, budget int32, target string, now time.Time, minReady time.Duration) batch {
	b := batch{lowest: replicas, done: true}
	for ordinal := replicas - 1; ordinal >= goal; ordinal-- {
		p, ok := pods[ordinal]
		switch {
		case !ok || p.terminating:
			b.done = false
		case p.revision == target:
			if !p.available(now, minReady) {
				b.done = false
			}
		case !p.available(now, minReady):
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
