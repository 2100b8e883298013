package controller

import (
	"cmp"
	"context"
	"fmt"
	"time"

	groupsnapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumegroupsnapshot/v1"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/history"
	"github.com/sroll-dev/sroll/internal/hookrun"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/internal/replication"
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
	// Hooks runs the freeze and thaw hooks (the rollout's Reconciler's
	// runner: one hook per member at a time, whoever asked); nil runs
	// none, and a set that freezes then fails at the freeze limit.
	Hooks *hookrun.Runner
}

// hookRefusedRetry is when a set whose hook the runner refused (its member
// ran another hook) looks again.
const hookRefusedRetry = time.Second

// Reconcile moves one snapshot set on.
func (r *SnapshotReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var set v1alpha1.RolloutSnapshot
	if err := r.Get(ctx, req.NamespacedName, &set); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ended := set.Status.Phase == v1alpha1.SnapshotReady || set.Status.Phase == v1alpha1.SnapshotFailed
	if set.DeletionTimestamp != nil || ended && !snapshot.Thawing(&set) {
		if r.Hooks != nil {
			r.Hooks.ForgetSet(req.NamespacedName)
		}
		if set.DeletionTimestamp == nil {
			return ctrl.Result{}, r.notifyEnd(ctx, &set)
		}
		return ctrl.Result{}, nil
	}
	in, err := r.observe(ctx, &set)
	if err != nil {
		return ctrl.Result{}, err
	}
	if r.Hooks != nil {
		in.HookResults, in.HookBusy = r.Hooks.ObserveSet(req.NamespacedName)
	}
	d := snapshot.DecideSet(in)
	previous := set.Status.DeepCopy()
	if err := r.writeStatus(ctx, &set, d.Status); err != nil {
		if r.Hooks != nil {
			r.Hooks.ReturnSet(req.NamespacedName, in.HookResults)
		}
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: staleRetry}, nil
		}
		return ctrl.Result{}, err
	}
	for _, e := range d.Events {
		r.Recorder.Eventf(&set, nil, e.Type, e.Reason, actionSnapshot, "%s", e.Message)
	}
	if previous.Phase != set.Status.Phase {
		r.Metrics.snapshotEnded(&set)
	}
	r.Metrics.freezeEnded(&set, previous)
	result := ctrl.Result{RequeueAfter: d.RequeueAfter}
	if r.runHooks(ctx, &set, in.Rollout, d.Run) {
		result.RequeueAfter = min(cmp.Or(result.RequeueAfter, hookRefusedRetry), hookRefusedRetry)
	}
	if err := r.notifyEnd(ctx, &set); err != nil {
		return ctrl.Result{}, err
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
	return result, nil
}

// runHooks starts the set's freeze and thaw hooks, after the status that
// records them was written, and reports whether the runner refused one.
func (r *SnapshotReconciler) runHooks(ctx context.Context, set *v1alpha1.RolloutSnapshot, rollout *v1alpha1.StatefulSetRollout, runs []replication.Run) (refused bool) {
	if len(runs) == 0 || r.Hooks == nil || rollout == nil || rollout.Spec.Replication == nil {
		return false
	}
	log := ctrl.LoggerFrom(ctx)
	container := replication.Container(*rollout.Spec.Replication, rollout.Spec.Template.Spec)
	for _, run := range runs {
		if err := r.Hooks.GoForSet(set, rollout, container, run); err != nil {
			log.Info("Refused a snapshot set's hook: the member runs another", "member", run.Member, "hook", run.Hook.String(), "reason", err.Error())
			refused = true
			continue
		}
		log.V(1).Info("Started a snapshot set's hook", "member", run.Member, "hook", run.Hook.String())
	}
	return refused
}

// notifyEnd tells the targets of the set's rollout that the set ended,
// once: the hand-over is recorded in status.notifiedAt, and a set that
// ended without it (the operator stopped between the status write saying
// so and the hand-over) is handed over on its next reconcile, after a
// restart too. A rollout that is gone or has no targets records nothing:
// there is nobody to tell.
func (r *SnapshotReconciler) notifyEnd(ctx context.Context, set *v1alpha1.RolloutSnapshot) error {
	e, ended := notify.SnapshotEvent(set)
	if r.Notifier == nil || !ended || set.Status.NotifiedAt != nil {
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	key := types.NamespacedName{Namespace: set.Namespace, Name: set.Spec.RolloutName}
	var rollout v1alpha1.StatefulSetRollout
	if err := r.Get(ctx, key, &rollout); err != nil {
		return client.IgnoreNotFound(err)
	}
	if len(rollout.Spec.Notifications) == 0 {
		return nil
	}
	var revisions []appsv1.ControllerRevision
	var sts appsv1.StatefulSet
	if err := r.Get(ctx, key, &sts); err == nil {
		if revisions, err = history.List(ctx, r, &sts); err != nil {
			log.Error(err, "Failed to read the StatefulSet's revisions to notify of a snapshot set", "rollout", key)
		}
	}
	// Recorded first: a conflict here means another write won, and the
	// next reconcile decides again; the targets hear of the set once.
	want := set.Status.DeepCopy()
	at := metav1.NewTime(r.Clock.Now()).Rfc3339Copy()
	want.NotifiedAt = &at
	if err := r.writeStatus(ctx, set, *want); err != nil {
		return err
	}
	s := report(&rollout, rollout.Status, revisions, r.Clock.Now())
	e.Step = s.Step
	s.Events = []notify.Event{e}
	r.Notifier.Notify(s)
	return nil
}

// observe reads the set's rollout, what its StatefulSet runs and the set's
// VolumeSnapshots.
func (r *SnapshotReconciler) observe(ctx context.Context, set *v1alpha1.RolloutSnapshot) (snapshot.SetInput, error) {
	in := snapshot.SetInput{Set: set, Snapshots: map[string]snapshot.VolumeState{}, Now: r.Clock.Now()}
	key := types.NamespacedName{Namespace: set.Namespace, Name: set.Spec.RolloutName}
	freezing := set.Status.Freeze != nil && set.Status.Freeze.ThawedAt == nil
	if set.Status.Phase == "" || freezing {
		var rollout v1alpha1.StatefulSetRollout
		if err := r.Get(ctx, key, &rollout); err == nil {
			in.Rollout = &rollout
		} else if !apierrors.IsNotFound(err) {
			return in, err
		}
		members, err := r.observeMembers(ctx, set.Namespace, in.Rollout)
		if err != nil {
			return in, err
		}
		in.Members = members
	}
	if set.Status.Phase == "" {
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
			// creationTime is the CSI CreateSnapshot response's: the
			// moment the point-in-time copy was taken.
			state.Cut = st.CreationTime != nil
			state.Ready = ptr.Deref(st.ReadyToUse, false)
			if st.Error != nil {
				state.Error = ptr.Deref(st.Error.Message, "failed")
			}
		}
		in.Snapshots[s.Name] = state
	}
	return in, nil
}

// observeMembers are the pods of the set's rollout as its freeze and thaw
// hooks see them, for a rollout with a freeze hook.
func (r *SnapshotReconciler) observeMembers(ctx context.Context, namespace string, rollout *v1alpha1.StatefulSetRollout) (map[string]replication.Member, error) {
	if freeze, _ := snapshot.FreezeHooks(rollout); freeze == nil {
		return nil, nil
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels{v1alpha1.LabelRollout: rollout.Name}); err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	container := replication.Container(*rollout.Spec.Replication, rollout.Spec.Template.Spec)
	members := map[string]replication.Member{}
	for i := range pods.Items {
		if m, ok := replication.MemberOf(rollout.Name, &pods.Items[i], container); ok {
			members[m.Name] = m
		}
	}
	return members, nil
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

// ownedBySet is the metadata of an object a set creates: owned by the set
// (deleting the set deletes it) and labelled with it and its rollout (the
// set lists its own).
func ownedBySet(set *v1alpha1.RolloutSnapshot, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace: set.Namespace, Name: name,
		Labels: map[string]string{v1alpha1.LabelSnapshotSet: set.Name, v1alpha1.LabelRollout: set.Spec.RolloutName},
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(), Kind: "RolloutSnapshot", Name: set.Name, UID: set.UID,
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}},
	}
}

// createVolumeSnapshot creates one VolumeSnapshot of the set, owned by it
// (deleting the set deletes it) and labelled with it (the set lists its
// own).
func (r *SnapshotReconciler) createVolumeSnapshot(ctx context.Context, set *v1alpha1.RolloutSnapshot, v v1alpha1.SnapshotVolume) error {
	claim := v.Claim
	vs := &snapshotv1.VolumeSnapshot{
		ObjectMeta: ownedBySet(set, v.VolumeSnapshot),
		Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: &claim}},
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
func SetupSnapshots(mgr ctrl.Manager, metrics *Metrics, notifier *notify.Dispatcher, hooks *hookrun.Runner) error {
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
		Metrics: metrics, Clock: clock.RealClock{}, Notifier: notifier, GroupsServed: served, Hooks: hooks}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("rolloutsnapshot").
		For(&v1alpha1.RolloutSnapshot{}).
		Owns(&snapshotv1.VolumeSnapshot{})
	if served {
		b = b.Owns(&groupsnapshotv1.VolumeGroupSnapshot{})
	}
	if hooks != nil {
		// The runner itself runs with the rollout controller.
		b = b.WatchesRawSource(source.Channel(hooks.Sets.Events(), &handler.TypedEnqueueRequestForObject[*v1alpha1.RolloutSnapshot]{}))
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
