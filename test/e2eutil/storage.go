package e2eutil

import (
	"context"
	"fmt"
	"testing"
	"time"

	groupsnapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumegroupsnapshot/v1"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapshots "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// storageTimeout bounds each wait for the storage controllers: provisioning,
// a snapshot or a resize takes a second or two on the local cluster.
const storageTimeout = time.Minute

// SnapshotClient is a client of the VolumeSnapshot and VolumeGroupSnapshot APIs.
func SnapshotClient(t testing.TB, cfg *rest.Config) snapshots.Interface {
	t.Helper()
	c, err := snapshots.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Claim is a ReadWriteOnce PVC of size in the default StorageClass,
// restored from the VolumeSnapshot fromSnapshot unless that is empty.
func Claim(name, size, fromSnapshot string) *corev1.PersistentVolumeClaim {
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	if fromSnapshot != "" {
		claim.Spec.DataSource = &corev1.TypedLocalObjectReference{
			APIGroup: ptr.To(snapshotv1.GroupName), Kind: "VolumeSnapshot", Name: fromSnapshot,
		}
	}
	return claim
}

// WaitClaimBound waits until the PVC is Bound and returns it.
func WaitClaimBound(t testing.TB, cs kubernetes.Interface, namespace, name string) *corev1.PersistentVolumeClaim {
	t.Helper()
	var claim *corev1.PersistentVolumeClaim
	Eventually(t, storageTimeout, "PVC "+name+" Bound", func() (bool, string) {
		var err error
		claim, err = cs.CoreV1().PersistentVolumeClaims(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return claim.Status.Phase == corev1.ClaimBound, fmt.Sprintf("phase %s", claim.Status.Phase)
	})
	return claim
}

// WaitSnapshotReady waits until the VolumeSnapshot is readyToUse and
// returns it.
func WaitSnapshotReady(t testing.TB, c snapshots.Interface, namespace, name string) *snapshotv1.VolumeSnapshot {
	t.Helper()
	var snap *snapshotv1.VolumeSnapshot
	Eventually(t, storageTimeout, "VolumeSnapshot "+name+" ready", func() (bool, string) {
		var err error
		snap, err = c.SnapshotV1().VolumeSnapshots(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return snap.Status != nil && ptr.Deref(snap.Status.ReadyToUse, false), fmt.Sprintf("status %+v", snap.Status)
	})
	return snap
}

// WaitGroupSnapshotReady waits until the VolumeGroupSnapshot is readyToUse
// with want member VolumeSnapshots, each ready, and returns the members.
func WaitGroupSnapshotReady(t testing.TB, c snapshots.Interface, namespace, name string, want int) []snapshotv1.VolumeSnapshot {
	t.Helper()
	var members []snapshotv1.VolumeSnapshot
	Eventually(t, storageTimeout, "VolumeGroupSnapshot "+name+" ready", func() (bool, string) {
		group, err := c.GroupsnapshotV1().VolumeGroupSnapshots(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if group.Status == nil || !ptr.Deref(group.Status.ReadyToUse, false) {
			return false, fmt.Sprintf("status %+v", group.Status)
		}
		members = members[:0]
		all, err := c.SnapshotV1().VolumeSnapshots(namespace).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, s := range all.Items {
			if s.Status != nil && ptr.Deref(s.Status.VolumeGroupSnapshotName, "") == name && ptr.Deref(s.Status.ReadyToUse, false) {
				members = append(members, s)
			}
		}
		return len(members) == want, fmt.Sprintf("%d of %d member snapshots ready", len(members), want)
	})
	return members
}

// GroupSnapshot selects the PVCs with labels in one VolumeGroupSnapshot of
// the default class.
func GroupSnapshot(name string, labels map[string]string) *groupsnapshotv1.VolumeGroupSnapshot {
	return &groupsnapshotv1.VolumeGroupSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: groupsnapshotv1.VolumeGroupSnapshotSpec{Source: groupsnapshotv1.VolumeGroupSnapshotSource{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
		}},
	}
}

// Snapshot is a VolumeSnapshot of the PVC claim, of the default class.
func Snapshot(name, claim string) *snapshotv1.VolumeSnapshot {
	return &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: &claim}},
	}
}
