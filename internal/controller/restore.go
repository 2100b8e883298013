package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

const actionRestore = "Restore"

// decideRestore asks internal/snapshot about a restore asked for
// (sroll.dev/restore) or on record; nil when there is neither. Its gate
// goes to the planner, its record into the status write, and its effects
// come after that write (restore).
func (r *Reconciler) decideRestore(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, obs observed) (*snapshot.RestoreDecision, error) {
	_, asked := rollout.Annotations[v1alpha1.AnnotationRestore]
	if !asked && rollout.Status.Restore == nil {
		return nil, nil
	}
	sets, err := r.sets(ctx, rollout)
	if err != nil {
		return nil, err
	}
	in := snapshot.RestoreInput{Rollout: rollout, Sets: sets, Pods: len(obs.pods), Now: r.Clock.Now()}
	if rec := rollout.Status.Restore; rec != nil && rec.Step == v1alpha1.RestoreReplacing {
		// From the API server: claims are not cached, and this is rare.
		var claims corev1.PersistentVolumeClaimList
		if err := r.LiveReader.List(ctx, &claims, client.InNamespace(rollout.Namespace)); err != nil {
			return nil, fmt.Errorf("list PersistentVolumeClaims: %w", err)
		}
		in.Claims = map[string]snapshot.ClaimState{}
		for _, c := range claims.Items {
			state := snapshot.ClaimState{UID: c.UID, Bound: c.Status.Phase == corev1.ClaimBound, Deleting: c.DeletionTimestamp != nil}
			if ds := c.Spec.DataSource; ds != nil && ds.Kind == "VolumeSnapshot" {
				state.Restoring = ds.Name
			}
			in.Claims[c.Name] = state
		}
	}
	d := snapshot.DecideRestore(in)
	return &d, nil
}

// restore carries out a restore decision once the status recording it was
// written: the BeforeRestore set, then the claims deleted and created from
// their snapshots.
func (r *Reconciler) restore(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, d *snapshot.RestoreDecision) error {
	log := ctrl.LoggerFrom(ctx)
	if err := r.createSet(ctx, d.Create); err != nil {
		return err
	}
	for _, ref := range d.DeleteClaims {
		claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: rollout.Namespace, Name: ref.Name}}
		if err := r.Delete(ctx, claim, client.Preconditions{UID: &ref.UID}); err != nil && !apierrors.IsNotFound(err) {
			return staleOr(fmt.Errorf("delete PersistentVolumeClaim %s: %w", ref.Name, err))
		}
		log.Info("Deleted PersistentVolumeClaim to restore it from its snapshot", "claim", ref.Name)
	}
	for i := range d.CreateClaims {
		claim := &d.CreateClaims[i]
		if err := r.Create(ctx, claim); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create PersistentVolumeClaim %s: %w", claim.Name, err)
		}
		log.Info("Created PersistentVolumeClaim from its snapshot", "claim", claim.Name, "volumeSnapshot", claim.Spec.DataSource.Name)
	}
	r.recordEvents(rollout, actionRestore, d.Events)
	return nil
}

// sets lists the rollout's snapshot sets from the cache.
func (r *Reconciler) sets(ctx context.Context, rollout *v1alpha1.StatefulSetRollout) ([]v1alpha1.RolloutSnapshot, error) {
	var sets v1alpha1.RolloutSnapshotList
	if err := r.List(ctx, &sets, client.InNamespace(rollout.Namespace), client.MatchingLabels{v1alpha1.LabelRollout: rollout.Name}); err != nil {
		return nil, fmt.Errorf("list RolloutSnapshots: %w", err)
	}
	return sets.Items, nil
}
