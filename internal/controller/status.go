package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

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

// observedOnly says whether want differs from current only in what the
// planner reports of the observed world: the pod counts, the conditions, the
// message and the partition (the StatefulSet's own is the pin). A restarted
// operator observes all of those again; everything else is a decision.
func observedOnly(current, want v1alpha1.StatefulSetRolloutStatus) bool {
	decisions := func(s v1alpha1.StatefulSetRolloutStatus) v1alpha1.StatefulSetRolloutStatus {
		s.Message, s.Partition, s.Conditions = "", 0, nil
		s.Replicas, s.ReadyReplicas, s.UpdatedReplicas, s.UpdatedReadyReplicas = 0, 0, 0, 0
		return s
	}
	return equality.Semantic.DeepEqual(decisions(current), decisions(want))
}
