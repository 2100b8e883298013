package controller

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

const actionSnapshot = "Snapshot"

// snapshotStep is one reconcile's snapshot part: the decision about the
// rollout's sets (nil without spec.snapshots or a record of them) and the
// restore's (nil without a restore asked for or on record).
type snapshotStep struct {
	sets    *snapshot.Decision
	restore *snapshot.RestoreDecision
}

// decideSnapshots asks internal/snapshot what the rollout needs of its
// snapshot sets and of a restore; nil when neither concerns it. The gates
// go to the planner, the records into the status write, and the effects
// come after that write (takeSnapshots).
func (r *Reconciler) decideSnapshots(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, obs observed) (*snapshotStep, error) {
	restore, err := r.decideRestore(ctx, rollout, obs)
	if err != nil {
		return nil, err
	}
	step := &snapshotStep{restore: restore}
	if rollout.Spec.Snapshots != nil || rollout.Status.Snapshots != nil {
		sets, err := r.sets(ctx, rollout)
		if err != nil {
			return nil, err
		}
		hash := plan.TemplateHash(&rollout.Spec.Template)
		d := snapshot.Decide(snapshot.Input{
			Rollout: rollout, TemplateHash: hash, TemplatePending: snapshot.TemplatePending(rollout, obs.sts, hash),
			Sets: sets, Now: r.Clock.Now(),
		})
		step.sets = &d
	}
	if step.sets == nil && step.restore == nil {
		return nil, nil
	}
	return step, nil
}

// record writes the step's records into the status to write.
func (s *snapshotStep) record(want *v1alpha1.StatefulSetRolloutStatus) {
	if s == nil {
		return
	}
	if s.sets != nil {
		want.Snapshots = s.sets.Record
	}
	if s.restore != nil {
		want.Restore = s.restore.Record
	}
}

// input fills in the planner's input from the step.
func (s *snapshotStep) input(in *plan.Input) {
	if s == nil {
		return
	}
	if s.sets != nil {
		in.Snapshot = s.sets.Gate
	}
	if s.restore != nil {
		in.Restore = s.restore.Gate
	}
}

// requeueAfter is when the step wants to look again; 0 = none.
func (s *snapshotStep) requeueAfter() time.Duration {
	if s == nil {
		return 0
	}
	var after time.Duration
	if s.sets != nil {
		after = s.sets.RequeueAfter
	}
	if s.restore != nil {
		after = sooner(after, s.restore.RequeueAfter)
	}
	return after
}

// takeSnapshots carries out a snapshot step once the status recording it
// was written: the set the rollout waits for is created (the name was on
// record first, so a restarted operator creates the same one), the
// automatic sets beyond spec.snapshots.keep are deleted, and a restore
// takes its next step.
func (r *Reconciler) takeSnapshots(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, step *snapshotStep) error {
	if step == nil {
		return nil
	}
	if step.restore != nil {
		if err := r.restore(ctx, rollout, step.restore); err != nil {
			return err
		}
	}
	d := step.sets
	if d == nil {
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	if err := r.createSet(ctx, d.Create); err != nil {
		return err
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

// createSet creates a snapshot set a decider named (recorded in status
// first); one that exists already is left alone. nil creates nothing.
func (r *Reconciler) createSet(ctx context.Context, set *v1alpha1.RolloutSnapshot) error {
	if set == nil {
		return nil
	}
	if err := r.Create(ctx, set); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return fmt.Errorf("create RolloutSnapshot %s: %w", set.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Created snapshot set", "rolloutSnapshot", set.Name, "reason", set.Spec.Reason)
	return nil
}
