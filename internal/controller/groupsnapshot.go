package controller

import (
	"context"
	"fmt"

	groupsnapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumegroupsnapshot/v1"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

// defaultGroupClassAnnotation marks the default VolumeGroupSnapshotClass
// of its driver, as the snapshot controller reads it.
const defaultGroupClassAnnotation = "groupsnapshot.storage.kubernetes.io/is-default-class"

// groupSnapshotsServed reports whether the cluster serves
// VolumeGroupSnapshots in the version sroll speaks (v1, what the
// snapshot-controller v8.7 serves).
func groupSnapshotsServed(mapper meta.RESTMapper) (bool, error) {
	gk := groupsnapshotv1.SchemeGroupVersion.WithKind("VolumeGroupSnapshot").GroupKind()
	if _, err := mapper.RESTMapping(gk, groupsnapshotv1.SchemeGroupVersion.Version); err != nil {
		if meta.IsNoMatchError(err) {
			return false, nil
		}
		return false, fmt.Errorf("look up the VolumeGroupSnapshot API: %w", err)
	}
	return true, nil
}

// observeGroupSupport reads what a new set needs to choose a group: the
// VolumeGroupSnapshotClasses, and the namespace's claims with the driver
// of their StorageClass, from the API server (claims are not cached, and
// this is read once per set).
func (r *SnapshotReconciler) observeGroupSupport(ctx context.Context, set *v1alpha1.RolloutSnapshot) (snapshot.GroupSupport, error) {
	support := snapshot.GroupSupport{Served: r.GroupsServed}
	if !support.Served || set.Spec.GroupOrDefault() == v1alpha1.SnapshotGroupNever {
		return support, nil
	}
	// Both kinds of class are cluster-scoped: an install bound to some
	// namespaces may not list them, and its sets are then one
	// VolumeSnapshot per claim (or Failed with group Always), saying why.
	var classes groupsnapshotv1.VolumeGroupSnapshotClassList
	if err := r.LiveReader.List(ctx, &classes); err != nil {
		if apierrors.IsForbidden(err) {
			support.Unreadable = "the operator may not list VolumeGroupSnapshotClasses: " + err.Error()
			return support, nil
		}
		return support, fmt.Errorf("list VolumeGroupSnapshotClasses: %w", err)
	}
	for _, c := range classes.Items {
		support.Classes = append(support.Classes, snapshot.GroupClass{Name: c.Name, Driver: c.Driver, Default: c.Annotations[defaultGroupClassAnnotation] == "true"})
	}
	var storageClasses storagev1.StorageClassList
	if err := r.LiveReader.List(ctx, &storageClasses); err != nil {
		if apierrors.IsForbidden(err) {
			support.Unreadable = "the operator may not list StorageClasses, to tell the claims' driver: " + err.Error()
			return support, nil
		}
		return support, fmt.Errorf("list StorageClasses: %w", err)
	}
	provisioners := map[string]string{}
	for _, c := range storageClasses.Items {
		provisioners[c.Name] = c.Provisioner
	}
	var claims corev1.PersistentVolumeClaimList
	if err := r.LiveReader.List(ctx, &claims, client.InNamespace(set.Namespace)); err != nil {
		return support, fmt.Errorf("list PersistentVolumeClaims: %w", err)
	}
	support.Claims = map[string]snapshot.Claim{}
	for _, c := range claims.Items {
		support.Claims[c.Name] = snapshot.Claim{
			Labels: c.Labels, Driver: provisioners[ptr.Deref(c.Spec.StorageClassName, "")],
			Bound: c.Status.Phase == corev1.ClaimBound && c.DeletionTimestamp == nil,
		}
	}
	return support, nil
}

// observeGroup reads the set's VolumeGroupSnapshot and its members, the
// VolumeSnapshots the snapshot controller made for it (owned by it, named
// after a hash; read from the API server: they carry no label of the
// set's, so the cache does not hold them). nil when it does not exist.
func (r *SnapshotReconciler) observeGroup(ctx context.Context, set *v1alpha1.RolloutSnapshot) (*snapshot.GroupState, error) {
	var group groupsnapshotv1.VolumeGroupSnapshot
	// From the API server: one of another owner is not in the cache.
	if err := r.LiveReader.Get(ctx, client.ObjectKey{Namespace: set.Namespace, Name: set.Status.Group.VolumeGroupSnapshot}, &group); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("get VolumeGroupSnapshot: %w", err)
	}
	if owner := metav1.GetControllerOf(&group); owner == nil || owner.UID != set.UID {
		return &snapshot.GroupState{Foreign: true}, nil
	}
	state := &snapshot.GroupState{Members: map[string]snapshot.Member{}}
	if st := group.Status; st != nil {
		// creationTime: the storage took the whole group's copy.
		state.Cut = st.CreationTime != nil
		state.Ready = ptr.Deref(st.ReadyToUse, false)
		if st.Error != nil {
			state.Error = ptr.Deref(st.Error.Message, "failed")
		}
	}
	var snaps snapshotv1.VolumeSnapshotList
	if err := r.LiveReader.List(ctx, &snaps, client.InNamespace(set.Namespace)); err != nil {
		return nil, fmt.Errorf("list VolumeSnapshots: %w", err)
	}
	for _, s := range snaps.Items {
		if !ownedBy(&s, group.UID) || s.Spec.Source.PersistentVolumeClaimName == nil {
			continue
		}
		m := snapshot.Member{VolumeSnapshot: s.Name}
		if st := s.Status; st != nil {
			m.Cut = st.CreationTime != nil
			m.Ready = ptr.Deref(st.ReadyToUse, false)
			if st.Error != nil {
				m.Error = ptr.Deref(st.Error.Message, "failed")
			}
		}
		state.Members[*s.Spec.Source.PersistentVolumeClaimName] = m
	}
	return state, nil
}

func ownedBy(obj metav1.Object, uid types.UID) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == uid {
			return true
		}
	}
	return false
}

// createGroup creates the set's VolumeGroupSnapshot as its status
// records it, owned by the set (deleting the set deletes it, and the
// snapshot controller then its members and contents) and labelled with it.
func (r *SnapshotReconciler) createGroup(ctx context.Context, set *v1alpha1.RolloutSnapshot) error {
	g := set.Status.Group
	group := &groupsnapshotv1.VolumeGroupSnapshot{
		ObjectMeta: ownedBySet(set, g.VolumeGroupSnapshot),
		Spec: groupsnapshotv1.VolumeGroupSnapshotSpec{
			Source:                       groupsnapshotv1.VolumeGroupSnapshotSource{Selector: &metav1.LabelSelector{MatchLabels: g.Selector}},
			VolumeGroupSnapshotClassName: ptr.To(g.VolumeGroupSnapshotClassName),
		},
	}
	if err := r.Create(ctx, group); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create VolumeGroupSnapshot %s: %w", group.Name, err)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Created VolumeGroupSnapshot", "volumeGroupSnapshot", group.Name, "selector", g.Selector)
	return nil
}
