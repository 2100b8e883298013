package controller

import (
	"context"
	"fmt"

	groupsnapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumegroupsnapshot/v1"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/history"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

// SnapshotReconciler takes snapshot sets: for each RolloutSnapshot it
// records what the set captures, creates one VolumeSnapshot per claim of
// every member (or one VolumeGroupSnapshot of them all), and follows them
// to Ready or Failed (internal/snapshot
// decides; this only reads and writes). The sets a rollout waits for are
// created by the rollout's Reconciler; on-demand ones by the user.
type SnapshotReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Metrics  *Metrics
	Clock    clock.PassiveClock
	// Notifier tells the rollout's notification targets that a set ended
	// (the rollout's Reconciler's dispatcher); nil tells nobody.
	Notifier *notify.Dispatcher
	// LiveReader reads what the cache does not hold: claims, classes and
	// the members of a VolumeGroupSnapshot.
	LiveReader client.Reader
	// GroupsServed: the cluster serves VolumeGroupSnapshots and this
	// controller watches them, so a set may be one.
	GroupsServed bool
}

// Reconcile moves one snapshot set on.
func (r *SnapshotReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var set v1alpha1.RolloutSnapshot
	if err := r.Get(ctx, req.NamespacedName, &set); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if set.DeletionTimestamp != nil || set.Status.Phase == v1alpha1.SnapshotReady || set.Status.Phase == v1alpha1.SnapshotFailed {
		return ctrl.Result{}, nil
	}
	in, err := r.observe(ctx, &set)
	if err != nil {
		return ctrl.Result{}, err
	}
	d := snapshot.DecideSet(in)
	previous := set.Status.Phase
	if err := r.writeStatus(ctx, &set, d.Status); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: staleRetry}, nil
		}
		return ctrl.Result{}, err
	}
	for _, e := range d.Events {
		r.Recorder.Eventf(&set, nil, e.Type, e.Reason, actionSnapshot, "%s", e.Message)
	}
	if previous != set.Status.Phase {
		r.Metrics.snapshotEnded(&set)
		r.notifyEnd(ctx, &set)
	}
	for _, v := range d.Create {
		if err := r.createVolumeSnapshot(ctx, &set, v); err != nil {
			return ctrl.Result{}, err
		}
	}
	if d.CreateGroup {
		if err := r.createGroup(ctx, &set); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{RequeueAfter: d.RequeueAfter}, nil
}

// notifyEnd tells the targets of the set's rollout that the set ended,
// right after the status saying so was written: the one moment the end is
// seen (a set that ended is not reconciled again). Like a thread reply,
// the event is not redelivered after an operator restart; what failed to
// be read is logged, the set's end stands.
func (r *SnapshotReconciler) notifyEnd(ctx context.Context, set *v1alpha1.RolloutSnapshot) {
	e, ended := notify.SnapshotEvent(set)
	if r.Notifier == nil || !ended {
		return
	}
	log := ctrl.LoggerFrom(ctx)
	key := types.NamespacedName{Namespace: set.Namespace, Name: set.Spec.RolloutName}
	var rollout v1alpha1.StatefulSetRollout
	if err := r.Get(ctx, key, &rollout); err != nil {
		if !apierrors.IsNotFound(err) {
			log.Error(err, "Failed to read the rollout to notify of its snapshot set", "rollout", key)
		}
		return
	}
	if len(rollout.Spec.Notifications) == 0 {
		return
	}
	var revisions []appsv1.ControllerRevision
	var sts appsv1.StatefulSet
	if err := r.Get(ctx, key, &sts); err == nil {
		if revisions, err = history.List(ctx, r, &sts); err != nil {
			log.Error(err, "Failed to read the StatefulSet's revisions to notify of a snapshot set", "rollout", key)
		}
	}
	s := report(&rollout, rollout.Status, revisions, r.Clock.Now())
	e.Step = s.Step
	s.Events = []notify.Event{e}
	r.Notifier.Notify(s)
}

// observe reads the set's rollout, what its StatefulSet runs and the set's
// VolumeSnapshots.
func (r *SnapshotReconciler) observe(ctx context.Context, set *v1alpha1.RolloutSnapshot) (snapshot.SetInput, error) {
	in := snapshot.SetInput{Set: set, Snapshots: map[string]snapshot.VolumeState{}, Now: r.Clock.Now()}
	key := types.NamespacedName{Namespace: set.Namespace, Name: set.Spec.RolloutName}
	if set.Status.Phase == "" {
		var rollout v1alpha1.StatefulSetRollout
		if err := r.Get(ctx, key, &rollout); err == nil {
			in.Rollout = &rollout
		} else if !apierrors.IsNotFound(err) {
			return in, err
		}
		var sts appsv1.StatefulSet
		if err := r.Get(ctx, key, &sts); err == nil {
			revisions, err := history.List(ctx, r, &sts)
			if err != nil {
				return in, err
			}
			in.Revision = sts.Status.CurrentRevision
			in.Images = history.Images(revisions, in.Revision)
		} else if !apierrors.IsNotFound(err) {
			return in, err
		}
		var err error
		if in.Groups, err = r.observeGroupSupport(ctx, set); err != nil {
			return in, err
		}
	}
	if set.Status.Group != nil {
		var err error
		in.Group, err = r.observeGroup(ctx, set)
		return in, err
	}
	var snaps snapshotv1.VolumeSnapshotList
	if err := r.List(ctx, &snaps, client.InNamespace(set.Namespace), client.MatchingLabels{v1alpha1.LabelSnapshotSet: set.Name}); err != nil {
		return in, fmt.Errorf("list VolumeSnapshots: %w", err)
	}
	for _, s := range snaps.Items {
		state := snapshot.VolumeState{}
		if st := s.Status; st != nil {
			state.Ready = ptr.Deref(st.ReadyToUse, false)
			if st.Error != nil {
				state.Error = ptr.Deref(st.Error.Message, "failed")
			}
		}
		in.Snapshots[s.Name] = state
	}
	return in, nil
}

// writeStatus patches the set's status to want unless it already is,
// with the resourceVersion read: a status decided from an older set is
// refused.
func (r *SnapshotReconciler) writeStatus(ctx context.Context, set *v1alpha1.RolloutSnapshot, want v1alpha1.RolloutSnapshotStatus) error {
	if equality.Semantic.DeepEqual(set.Status, want) {
		return nil
	}
	before := set.DeepCopy()
	set.Status = want
	if err := r.Status().Patch(ctx, set, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("patch RolloutSnapshot status: %w", err)
	}
	ctrl.LoggerFrom(ctx).Info("Patched snapshot set status", "phase", want.Phase, "ready", want.ReadyVolumes, "message", want.Message)
	return nil
}

// createVolumeSnapshot creates one VolumeSnapshot of the set, owned by it
// (deleting the set deletes it) and labelled with it (the set lists its
// own).
func (r *SnapshotReconciler) createVolumeSnapshot(ctx context.Context, set *v1alpha1.RolloutSnapshot, v v1alpha1.SnapshotVolume) error {
	claim := v.Claim
	vs := &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: set.Namespace, Name: v.VolumeSnapshot,
			Labels: map[string]string{v1alpha1.LabelSnapshotSet: set.Name, v1alpha1.LabelRollout: set.Spec.RolloutName},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "RolloutSnapshot", Name: set.Name, UID: set.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: &claim}},
	}
	if class := set.Spec.VolumeSnapshotClassName; class != "" {
		vs.Spec.VolumeSnapshotClassName = &class
	}
	if err := r.Create(ctx, vs); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create VolumeSnapshot %s: %w", vs.Name, err)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Created VolumeSnapshot", "volumeSnapshot", vs.Name, "claim", claim)
	return nil
}

// SetupSnapshots runs the snapshot set controller with the manager, when
// the cluster serves VolumeSnapshots; without the snapshot CRDs it logs
// that and runs none (sets then stay without a phase).
func SetupSnapshots(mgr ctrl.Manager, metrics *Metrics, notifier *notify.Dispatcher) error {
	log := mgr.GetLogger().WithName("setup")
	gk := snapshotv1.SchemeGroupVersion.WithKind("VolumeSnapshot").GroupKind()
	if _, err := mgr.GetRESTMapper().RESTMapping(gk, snapshotv1.SchemeGroupVersion.Version); err != nil {
		if meta.IsNoMatchError(err) {
			log.Info("Started without snapshot sets: the cluster serves no VolumeSnapshot API (install the CSI snapshot CRDs and controller)")
			return nil
		}
		return fmt.Errorf("look up the VolumeSnapshot API: %w", err)
	}
	served, err := groupSnapshotsServed(mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	if !served {
		log.Info("Snapshot sets are one VolumeSnapshot per claim: the cluster serves no VolumeGroupSnapshot API (groupsnapshot.storage.k8s.io/v1)")
	}
	r := &SnapshotReconciler{Client: mgr.GetClient(), LiveReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder(Name),
		Metrics: metrics, Clock: clock.RealClock{}, Notifier: notifier, GroupsServed: served}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("rolloutsnapshot").
		For(&v1alpha1.RolloutSnapshot{}).
		Owns(&snapshotv1.VolumeSnapshot{})
	if served {
		b = b.Owns(&groupsnapshotv1.VolumeGroupSnapshot{})
	}
	return b.Complete(r)
}

// rolloutOfSet maps a snapshot set to its rollout: the rollout waits for
// its sets and keeps only so many.
func rolloutOfSet(_ context.Context, set client.Object) []reconcile.Request {
	name := set.GetLabels()[v1alpha1.LabelRollout]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: set.GetNamespace(), Name: name}}}
}
