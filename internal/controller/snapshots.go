package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

const actionSnapshot = "Snapshot"

// decideSnapshots asks internal/snapshot what a rollout with
// spec.snapshots (or a record of them) needs of its sets; nil for a
// rollout without either. Its gate goes to the planner, its record into
// the status write, and its sets are created and deleted after that write
// (takeSnapshots).
func (r *Reconciler) decideSnapshots(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, obs observed) (*snapshot.Decision, error) {
	if rollout.Spec.Snapshots == nil && rollout.Status.Snapshots == nil {
		return nil, nil
	}
	var sets v1alpha1.RolloutSnapshotList
	if err := r.List(ctx, &sets, client.InNamespace(rollout.Namespace), client.MatchingLabels{v1alpha1.LabelRollout: rollout.Name}); err != nil {
		return nil, fmt.Errorf("list RolloutSnapshots: %w", err)
	}
	hash := plan.TemplateHash(&rollout.Spec.Template)
	d := snapshot.Decide(snapshot.Input{
		Rollout: rollout, TemplateHash: hash, TemplatePending: snapshot.TemplatePending(rollout, obs.sts, hash),
		Sets: sets.Items, Now: r.Clock.Now(),
	})
	return &d, nil
}

// takeSnapshots carries out a snapshot decision once the status recording
// it was written: the set the rollout waits for is created (the name was on
// record first, so a restarted operator creates the same one), and the
// automatic sets beyond spec.snapshots.keep are deleted.
func (r *Reconciler) takeSnapshots(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, d *snapshot.Decision) error {
	log := ctrl.LoggerFrom(ctx)
	if set := d.Create; set != nil {
		if err := r.Create(ctx, set); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create RolloutSnapshot %s: %w", set.Name, err)
		} else if err == nil {
			log.Info("Created snapshot set", "rolloutSnapshot", set.Name, "reason", set.Spec.Reason)
		}
	}
	for _, name := range d.Delete {
		set := &v1alpha1.RolloutSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: rollout.Namespace, Name: name}}
		if err := r.Delete(ctx, set); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete RolloutSnapshot %s: %w", name, err)
		}
		log.Info("Deleted snapshot set beyond spec.snapshots.keep", "rolloutSnapshot", name)
	}
	r.recordEvents(rollout, actionSnapshot, d.Events)
	return nil
}

// gate is the planner's input from a snapshot decision.
func gate(d *snapshot.Decision) *snapshot.Gate {
	if d == nil {
		return nil
	}
	return d.Gate
}
