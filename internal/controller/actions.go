package controller

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// removeActions removes the action annotations the planner carried out. The
// patch carries the resourceVersion of the status write, so an annotation set
// again in between (a new request) is never removed unseen.
func (r *Reconciler) removeActions(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, handled []string) error {
	var present []string
	for _, key := range handled {
		if _, ok := rollout.Annotations[key]; ok {
			present = append(present, key)
		}
	}
	if len(present) == 0 {
		return nil
	}
	before := rollout.DeepCopy()
	for _, key := range present {
		delete(rollout.Annotations, key)
	}
	if err := r.Patch(ctx, rollout, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return staleOr(fmt.Errorf("remove action annotations: %w", err))
	}
	r.ownWrites.wrote(client.ObjectKeyFromObject(rollout), before.ResourceVersion)
	ctrl.LoggerFrom(ctx).Info("Removed handled action annotations", "annotations", present)
	return nil
}
