package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
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
// (status.replication). A concern with status of its own (a snapshot set)
// adds its part here, decided by its own decider, so that the write stays
// one.
func (r *Reconciler) statusToWrite(rollout *v1alpha1.StatefulSetRollout, p plan.Plan, resize claims.Decision, rep *replicationStep) v1alpha1.StatefulSetRolloutStatus {
	want := *p.Status.DeepCopy()
	want.Notifications = r.notificationRecords(rollout, want.Notifications)
	want.ClaimResize = resize.Record
	if resize.Message != "" {
		want.Message += "; " + resize.Message
	}
	if rep != nil {
		want.Replication = rep.decision.Status.DeepCopy()
	}
	return want
}

// writeStatus patches the rollout's status to want unless it already is. The
// patch carries the resourceVersion, so a status decided from an older
// rollout is refused (errStale) instead of overwriting a newer one. On
// success rollout holds the server's answer, whose resourceVersion the
// following writes build on.
func (r *Reconciler) writeStatus(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, want v1alpha1.StatefulSetRolloutStatus) error {
	if equality.Semantic.DeepEqual(rollout.Status, want) {
		return nil
	}
	before := rollout.DeepCopy()
	rollout.Status = want
	if err := r.Status().Patch(ctx, rollout, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return staleOr(fmt.Errorf("patch status: %w", err))
	}
	r.ownWrites.wrote(client.ObjectKeyFromObject(rollout), before.ResourceVersion)
	ctrl.LoggerFrom(ctx).Info("Patched rollout status",
		"phase", want.Phase, "step", want.CurrentStepIndex, "partition", want.Partition,
		"updatedReplicas", want.UpdatedReplicas, "message", want.Message)
	return nil
}
