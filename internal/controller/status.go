package controller

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/claims"
	"github.com/sroll-dev/sroll/internal/plan"
)

// statusToWrite is the one status a reconcile writes, merged from the parts
// each concern owns: the planner's (everything but status.notifications,
// status.claimResize and status.replication), the notifier's
// (status.notifications), the claims decider's (status.claimResize, and
// what it waits for in the message) and the replication decider's
// (status.replication) and the snapshot deciders' (status.snapshots,
// status.restore). A
// concern with status of its own adds its part here, decided by its own
// decider, so that the write stays one.
func (r *Reconciler) statusToWrite(rollout *v1alpha1.StatefulSetRollout, p plan.Plan, resize claims.Decision, rep *replicationStep, snap *snapshotStep) v1alpha1.StatefulSetRolloutStatus {
	want := *p.Status.DeepCopy()
	want.Notifications = r.notificationRecords(rollout, want.Notifications)
	want.ClaimResize = resize.Record
	if resize.Message != "" {
		want.Message += "; " + resize.Message
	}
	if rep != nil {
		want.Replication = rep.decision.Status.DeepCopy()
	}
	snap.record(&want)
	return want
}

// statusInterval is the least time between two status writes of a rollout
// that only report what was observed (see apply). Such a status is what
// `kubectl get` shows between decisions (the counts, the message); the
// phase, the step and every other decision are written at once, and the
// plugin's status screen and the dashboard judge the pods themselves.
const statusInterval = 2 * time.Second

// statusSpacing is the least time between two such writes of any rollouts:
// at most 2.5 a second in all, so that many rollouts moving at once do not
// each write a status every statusInterval. One rollout's status still
// follows it within statusInterval; with n rollouts waiting, each waits its
// turn, about n × statusSpacing (20 s for 50). With n ≥ statusInterval /
// statusSpacing rollouts moving, this sets the status writes: one per
// statusSpacing, whatever the number of pods; with 10 rollouts of 50 pods
// and 200 ms, 0.42 writes per replaced pod. Decisions are never delayed:
// they are not deferred.
const statusSpacing = 400 * time.Millisecond

// statusWrites remembers when each rollout's status was last written, and
// gives the deferred writes their turns, each at the earliest time that is
// statusSpacing away from every other turn and write. Memory only: a
// restarted operator writes at once.
type statusWrites struct {
	mu   sync.Mutex
	last map[types.NamespacedName]time.Time
	// turn is when each rollout waiting for a turn has it.
	turn map[types.NamespacedName]time.Time
}

// committed records that a reconcile of rollout committed its status at the
// given time, and whether that wrote it. Its turn, if it had one, is used.
func (s *statusWrites) committed(rollout types.NamespacedName, at time.Time, written bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.turn, rollout)
	if !written {
		return
	}
	if s.last == nil {
		s.last = map[types.NamespacedName]time.Time{}
	}
	s.last[rollout] = at
}

// wait is how long a status that only reports observations must wait
// before it may be written; 0 when it may be now. The first call gives the
// rollout its turn, at the earliest statusInterval after its last write.
func (s *statusWrites) wait(rollout types.NamespacedName, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if turn, ok := s.turn[rollout]; ok {
		return max(0, turn.Sub(now))
	}
	earliest := now
	if last, ok := s.last[rollout]; ok && last.Add(statusInterval).After(now) {
		earliest = last.Add(statusInterval)
	}
	turn := s.free(earliest)
	if s.turn == nil {
		s.turn = map[types.NamespacedName]time.Time{}
	}
	s.turn[rollout] = turn
	return max(0, turn.Sub(now))
}

// free is the earliest time from t on that is statusSpacing away from every
// turn given out and every write.
func (s *statusWrites) free(t time.Time) time.Time {
	var taken []time.Time
	for _, at := range s.turn {
		taken = append(taken, at)
	}
	for _, at := range s.last {
		if at.Add(statusSpacing).After(t) {
			taken = append(taken, at)
		}
	}
	slices.SortFunc(taken, time.Time.Compare)
	for _, at := range taken {
		switch {
		case !at.Add(statusSpacing).After(t):
			// Far enough before t.
		case !t.Add(statusSpacing).After(at):
			return t // far enough before at, and so before every later one
		default:
			t = at.Add(statusSpacing)
		}
	}
	return t
}

func (s *statusWrites) forget(rollout types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.last, rollout)
	delete(s.turn, rollout)
}

// writeStatus patches the rollout's status to want unless it already is. The
// patch carries the resourceVersion, so a status decided from an older
// rollout is refused (errStale) instead of overwriting a newer one. On
// success rollout holds the server's answer, whose resourceVersion the
// following writes build on. It says whether it wrote.
func (r *Reconciler) writeStatus(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, want v1alpha1.StatefulSetRolloutStatus) (bool, error) {
	if equality.Semantic.DeepEqual(rollout.Status, want) {
		return false, nil
	}
	before := rollout.DeepCopy()
	rollout.Status = want
	if err := r.Status().Patch(ctx, rollout, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, staleOr(fmt.Errorf("patch status: %w", err))
	}
	r.ownWrites.wrote(client.ObjectKeyFromObject(rollout), before.ResourceVersion)
	ctrl.LoggerFrom(ctx).Info("Patched rollout status", "decision", !observedOnly(before.Status, want),
		"phase", want.Phase, "step", want.CurrentStepIndex, "partition", want.Partition,
		"updatedReplicas", want.UpdatedReplicas, "message", want.Message)
	return true, nil
}

// observedOnly says whether want differs from current only in what the
// planner reports of the observed world: the pod counts, the conditions, the
// message, the partition (the StatefulSet's own is the pin) and the update
// revision (the StatefulSet's; the decision that keeps it, the stable
// revision of a completed rollout, is written with it). A restarted operator
// observes all of those again; everything else is a decision, but for one:
// a later progress time, which moves with every batch and every pod that
// becomes available. Deferred, it is written at most statusInterval late
// (or a turn later, statusWrites), so a restart that loses it counts the
// progress deadline from about that much earlier; written first, it would
// put a status round trip before a batch's deletions about once a second.
func observedOnly(current, want v1alpha1.StatefulSetRolloutStatus) bool {
	decisions := func(s v1alpha1.StatefulSetRolloutStatus) v1alpha1.StatefulSetRolloutStatus {
		s.Message, s.Partition, s.Conditions, s.UpdateRevision = "", 0, nil, ""
		s.Replicas, s.ReadyReplicas, s.UpdatedReplicas, s.UpdatedReadyReplicas = 0, 0, 0, 0
		return s
	}
	if progressedLater(want.ProgressedAt, current.ProgressedAt) {
		want.ProgressedAt = current.ProgressedAt
	}
	return equality.Semantic.DeepEqual(decisions(current), decisions(want))
}

// progressedLater says whether a is a time after b, both set.
func progressedLater(a, b *metav1.Time) bool {
	return a != nil && b != nil && a.After(b.Time)
}
