package bench

import (
	"math"
	"slices"
	"time"

	"github.com/sroll-dev/sroll/test/e2eutil"
)

// watchSummary is what the pod watcher saw of a rollout, with the figures
// the benchmarks draw from it.
type watchSummary struct{ e2eutil.Seen }

// firstDeletionAfter returns when the first deletion seen after t was seen.
func firstDeletionAfter(deletions []e2eutil.Deletion, t time.Time) (time.Time, bool) {
	for _, d := range deletions {
		if d.At.After(t) {
			return d.At, true
		}
	}
	return time.Time{}, false
}

// podTimes are the replacement times, sorted.
func (s watchSummary) podTimes() []time.Duration {
	out := make([]time.Duration, len(s.Replaced))
	for i, r := range s.Replaced {
		out[i] = r.Took()
	}
	slices.Sort(out)
	return out
}

// reactions are, for a rollout under a budget of n pods, the times from
// the budget freeing to the operator using it: deletion n+j needs the j-th
// replacement Ready (unavailable = deleted - replaced-and-Ready <= n), so
// its reaction is the time between the two, as seen by the watch. Sorted.
func (s watchSummary) reactions(budget int) []time.Duration {
	var out []time.Duration
	for j := 0; j < len(s.Replaced) && budget+j < len(s.Deletions); j++ {
		out = append(out, s.Deletions[budget+j].At.Sub(s.Replaced[j].Ready))
	}
	slices.Sort(out)
	return out
}

// idealPipeline is how long the rollout would take with the same per-pod
// times and an operator that reacts instantly: each pod, in the order they
// were deleted, starts as soon as one of the budget's slots frees and holds
// it for its own replacement time.
func (s watchSummary) idealPipeline(budget int) time.Duration {
	byDeletion := slices.Clone(s.Replaced)
	slices.SortFunc(byDeletion, func(a, b e2eutil.Replacement) int { return a.Deleted.Compare(b.Deleted) })
	slots := make([]time.Duration, budget) // when each slot is free again
	var end time.Duration
	for _, r := range byDeletion {
		i := slices.Index(slots, slices.Min(slots))
		slots[i] += r.Took()
		end = max(end, slots[i])
	}
	return end
}

// percentile is the nearest-rank q-quantile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
