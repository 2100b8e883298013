package controller

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/claims"
	"github.com/sroll-dev/sroll/internal/plan"
)

// Event reasons of a storage increase (see internal/claims).
const (
	ReasonVolumeExpansionStarted = "VolumeExpansionStarted"
	ReasonVolumeNotExpandable    = "VolumeNotExpandable"
	ReasonStatefulSetReplaced    = "StatefulSetReplaced"
)

const actionResize = "ResizeVolumes"

// decideClaims asks internal/claims what a storage increase in
// volumeClaimTemplates needs now. It reads the claims and storage classes
// only while one is going on or about to start, not on every reconcile.
func (r *Reconciler) decideClaims(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, sts *appsv1.StatefulSet, planned *plan.Plan) (claims.Decision, error) {
	in := claims.Input{
		StatefulSetName: rollout.Name,
		Wanted:          rollout.Spec.VolumeClaimTemplates,
		Exists:          sts != nil,
		Settled:         planned.Status.Phase == v1alpha1.PhaseCompleted && len(planned.Delete) == 0,
		Recorded:        rollout.Status.ClaimResize,
	}
	if sts != nil {
		in.Current = sts.Spec.VolumeClaimTemplates
	}
	if in.Recorded == nil && claims.Decide(in).Record == nil {
		return claims.Decision{}, nil
	}
	var pvcs corev1.PersistentVolumeClaimList
	if err := r.LiveReader.List(ctx, &pvcs, client.InNamespace(rollout.Namespace)); err != nil {
		return claims.Decision{}, fmt.Errorf("list PersistentVolumeClaims: %w", err)
	}
	var classes storagev1.StorageClassList
	if err := r.LiveReader.List(ctx, &classes); err != nil {
		return claims.Decision{}, fmt.Errorf("list StorageClasses: %w", err)
	}
	in.Claims = pvcs.Items
	in.Expandable = map[string]bool{}
	for _, c := range classes.Items {
		in.Expandable[c.Name] = c.AllowVolumeExpansion != nil && *c.AllowVolumeExpansion
	}
	return claims.Decide(in), nil
}

// resizeClaims carries out the claims' part of a decision, after the status
// recording it was written: the claims' new requests, then the orphan
// deletion of the StatefulSet (the next reconcile creates it again with the
// new templates, and it adopts the pods). It reports whether the
// StatefulSet was deleted.
func (r *Reconciler) resizeClaims(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, sts *appsv1.StatefulSet, started bool, d claims.Decision) (bool, error) {
	log := ctrl.LoggerFrom(ctx)
	if started {
		r.Recorder.Eventf(rollout, nil, corev1.EventTypeNormal, ReasonVolumeExpansionStarted, actionResize,
			"Storage increase of volumeClaimTemplates: expanding %d claims, then replacing the StatefulSet without touching its pods", len(d.Expand))
		if len(d.Fixed) > 0 {
			r.warn(rollout, ReasonVolumeNotExpandable, actionResize,
				"claims %s keep their size: their StorageClass does not allow volume expansion", strings.Join(d.Fixed, ", "))
		}
	}
	for _, e := range d.Expand {
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: rollout.Namespace, Name: e.Claim}}
		patch := fmt.Sprintf(`{"spec":{"resources":{"requests":{"storage":%q}}}}`, e.Storage.String())
		if err := r.Patch(ctx, pvc, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
			return false, fmt.Errorf("expand PersistentVolumeClaim %s: %w", e.Claim, err)
		}
		log.Info("Expanded PersistentVolumeClaim", "claim", e.Claim, "storage", e.Storage.String())
	}
	if !d.Replace {
		return false, nil
	}
	// Preconditions: the StatefulSet read, not one created since.
	err := r.Delete(ctx, sts, client.PropagationPolicy(metav1.DeletePropagationOrphan),
		client.Preconditions{UID: &sts.UID, ResourceVersion: &sts.ResourceVersion})
	if err != nil {
		return false, staleOr(fmt.Errorf("delete StatefulSet %s (orphan): %w", sts.Name, err))
	}
	log.Info("Deleted StatefulSet with orphan propagation, to recreate it with the new volume claim templates", "statefulSet", sts.Name)
	r.Recorder.Eventf(rollout, nil, corev1.EventTypeNormal, ReasonStatefulSetReplaced, actionResize,
		"StatefulSet %s deleted with its pods kept, to be recreated with the new volume claim templates", sts.Name)
	return true, nil
}
