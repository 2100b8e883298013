package snapshote2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	groupsnapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumegroupsnapshot/v1"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapshots "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/internal/localcluster/localcsi"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// With beforeRollout and group Auto (the default) on the local cluster,
// whose driver has a default VolumeGroupSnapshotClass, a new image waits
// until ONE VolumeGroupSnapshot of the 5 members' claims is Ready, before
// the first pod is deleted; its 5 members were taken at one instant and
// hold what the members wrote. Deleting the set deletes the group, its
// content, its members and theirs.
func TestBeforeRolloutGroupIsReadyBeforeAnyPodGoes(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	const replicas = 5
	r := newRollout(ns, replicas, v1alpha1.SnapshotSpec{BeforeRollout: true})
	createCompleted(t, c, r)
	writeMarkers(t, r, "v1")
	pods := e2eutil.WatchPods(t, clustertest.RestConfig(), ns, r.Name, replicas)
	seen := watchSets(t, ns)

	e2eutil.SetImage(t, c, r, "v2")
	name := beforeRolloutSet(t, c, r)
	e2eutil.WaitCompleted(t, c, r, 3*time.Minute)

	set := waitSet(t, c, ns, name, v1alpha1.SnapshotReady)
	ready, ok := seen.at(name, v1alpha1.SnapshotReady)
	if !ok {
		t.Fatalf("set %s was never seen Ready", name)
	}
	deletions := pods.Seen().Deletions
	if len(deletions) != replicas {
		t.Fatalf("%d pods deleted, want %d", len(deletions), replicas)
	}
	if first := deletions[0]; !first.At.After(ready) {
		t.Errorf("pod %s was deleted at %s, before the set was seen Ready at %s", first.Pod, first.At.Format(time.StampMicro), ready.Format(time.StampMicro))
	}
	if set.Status.Group == nil || set.Status.Group.VolumeGroupSnapshot != name || !set.Status.Group.Ready {
		t.Fatalf("set %s is not one ready VolumeGroupSnapshot: group %+v, notGrouped %q", name, set.Status.Group, set.Status.NotGrouped)
	}
	if set.Status.Group.VolumeGroupSnapshotClassName != localcluster.StorageClassName || set.Status.ReadyVolumes != replicas {
		t.Errorf("set %s: class %s (want the default %s), %d ready volumes", name, set.Status.Group.VolumeGroupSnapshotClassName, localcluster.StorageClassName, set.Status.ReadyVolumes)
	}

	snaps := e2eutil.SnapshotClient(t, clustertest.RestConfig())
	groups, err := snaps.GroupsnapshotV1().VolumeGroupSnapshots(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups.Items) != 1 {
		t.Fatalf("%d VolumeGroupSnapshots in the namespace, want one", len(groups.Items))
	}
	group := groups.Items[0]
	if owner := metav1.GetControllerOf(&group); group.Name != name || owner == nil || owner.UID != set.UID {
		t.Errorf("VolumeGroupSnapshot %s is not the set's: owner %v", group.Name, group.OwnerReferences)
	}
	if st := group.Status; st == nil || !ptr.Deref(st.ReadyToUse, false) || st.CreationTime == nil || !deletions[0].At.After(st.CreationTime.Time) {
		t.Errorf("VolumeGroupSnapshot %s: status %+v, want ready and cut before the first deletion at %s", name, group.Status, deletions[0].At.Format(time.StampMicro))
	}
	members := groupMembers(t, snaps, ns, name)
	if len(members) != replicas {
		t.Fatalf("VolumeGroupSnapshot %s has %d members, want %d", name, len(members), replicas)
	}
	for i, v := range set.Status.Volumes {
		claim := fmt.Sprintf("data-db-%d", i)
		m, ok := members[claim]
		switch {
		case !ok || v.Claim != claim || v.VolumeSnapshot != m.Name:
			t.Errorf("volume %d: claim %s mapped to %q, the group's member of %s is %q", i, v.Claim, v.VolumeSnapshot, claim, m.Name)
		case !ptr.Deref(m.Status.ReadyToUse, false) || !m.Status.CreationTime.Equal(members["data-db-0"].Status.CreationTime):
			t.Errorf("member %s: ready %v, taken at %s, data-db-0's at %s: not one instant", m.Name, m.Status.ReadyToUse, m.Status.CreationTime, members["data-db-0"].Status.CreationTime)
		}
	}
	restored := e2eutil.Claim("restored", "1Gi", set.Status.Volumes[2].VolumeSnapshot)
	if err := c.Create(context.Background(), withNamespace(restored, ns)); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(clustertest.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitClaimBound(t, cs, ns, "restored")
	if got := readMarker(t, ns, "restored"); got != "v1-db-2" {
		t.Errorf("the group's member of data-db-2 holds marker %q, want v1-db-2", got)
	}
	e2eutil.WaitEvent(t, c, set, "SnapshotReady", time.Minute, "5 volume snapshots of 5 members ready in one VolumeGroupSnapshot "+name)

	content := ptr.Deref(group.Status.BoundVolumeGroupSnapshotContentName, "")
	if err := c.Delete(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	e2eutil.Eventually(t, 2*time.Minute, "the set's group, its content and members gone", func() (bool, string) {
		var left []string
		if _, err := snaps.GroupsnapshotV1().VolumeGroupSnapshots(ns).Get(context.Background(), name, metav1.GetOptions{}); err == nil {
			left = append(left, "VolumeGroupSnapshot "+name)
		}
		if _, err := snaps.GroupsnapshotV1().VolumeGroupSnapshotContents().Get(context.Background(), content, metav1.GetOptions{}); err == nil {
			left = append(left, "VolumeGroupSnapshotContent "+content)
		}
		list, err := snaps.SnapshotV1().VolumeSnapshots(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, vs := range list.Items {
			left = append(left, "VolumeSnapshot "+vs.Name)
		}
		return len(left) == 0, fmt.Sprintf("left: %v", left)
	})
}

// group: Always refuses to take a set one VolumeSnapshot per claim: with
// a VolumeGroupSnapshotClass that does not exist the set fails at once,
// and with one whose driver fails every group snapshot (the local
// driver's fail parameter) it fails with the driver's message; each time
// the rollout is Degraded with no pod deleted. With the class fixed, a
// retry takes the group and rolls out.
func TestGroupThatCannotBeTakenDegradesWithNoPodTouched(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	failing := failingGroupClass(t, ns, "out of group snapshot space")
	e2eutil.StartOperator(t, ns)
	const replicas = 3
	r := newRollout(ns, replicas, v1alpha1.SnapshotSpec{BeforeRollout: true, Group: v1alpha1.SnapshotGroupAlways, VolumeGroupSnapshotClassName: "missing-" + ns})
	createCompleted(t, c, r)
	pods := e2eutil.WatchPods(t, clustertest.RestConfig(), ns, r.Name, replicas)

	e2eutil.SetImage(t, c, r, "v2")
	missing := beforeRolloutSet(t, c, r)
	waitDegradedBySnapshot(t, c, r, "snapshot set "+missing+" failed", "group is Always, but no VolumeGroupSnapshot can be taken: no VolumeGroupSnapshotClass missing-"+ns)

	e2eutil.Patch(t, c, r, `{"spec":{"snapshots":{"volumeGroupSnapshotClassName":"`+failing+`"}}}`)
	e2eutil.Patch(t, c, r, fmt.Sprintf(`{"metadata":{"annotations":{%q:"1"}}}`, v1alpha1.AnnotationRetry))
	failed := beforeRolloutSetOtherThan(t, c, r, missing)
	waitDegradedBySnapshot(t, c, r, "snapshot set "+failed+" failed", "VolumeGroupSnapshot "+failed, "out of group snapshot space")
	if set := waitSet(t, c, ns, failed, v1alpha1.SnapshotFailed); set.Status.Group == nil || set.Status.Group.VolumeGroupSnapshotClassName != failing {
		t.Errorf("failed set %s: group %+v, want one of class %s", failed, set.Status.Group, failing)
	}
	if n := len(pods.Seen().Deletions); n != 0 {
		t.Fatalf("%d pods deleted after failed group snapshots, want none", n)
	}
	if image := statefulSetImage(t, c, r); image != e2eutil.Image+":v1" {
		t.Fatalf("the StatefulSet has image %s after failed group snapshots, want the old one", image)
	}

	e2eutil.Patch(t, c, r, `{"spec":{"snapshots":{"volumeGroupSnapshotClassName":"`+localcluster.StorageClassName+`"}}}`)
	e2eutil.Patch(t, c, r, fmt.Sprintf(`{"metadata":{"annotations":{%q:"2"}}}`, v1alpha1.AnnotationRetry))
	retried := beforeRolloutSetOtherThan(t, c, r, failed)
	e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
	if set := waitSet(t, c, ns, retried, v1alpha1.SnapshotReady); set.Status.Group == nil || set.Status.ReadyVolumes != replicas {
		t.Errorf("retried set %s: group %+v, %d ready volumes", retried, set.Status.Group, set.Status.ReadyVolumes)
	}
}

// waitDegradedBySnapshot waits until the rollout is Degraded by a failed
// snapshot set, with a message saying each of parts and that no pod was
// touched.
func waitDegradedBySnapshot(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, parts ...string) {
	t.Helper()
	got := e2eutil.WaitRollout(t, c, r, 2*time.Minute, "Degraded by the snapshot", func(got *v1alpha1.StatefulSetRollout) bool {
		cond := meta.FindStatusCondition(got.Status.Conditions, plan.ConditionProgressing)
		return got.Status.Phase == v1alpha1.PhaseDegraded && cond != nil && cond.Reason == plan.ReasonSnapshotFailed &&
			strings.Contains(got.Status.Message, parts[0])
	})
	for _, part := range append(parts, "no pod was touched") {
		if !strings.Contains(got.Status.Message, part) {
			t.Errorf("message %q does not say %q", got.Status.Message, part)
		}
	}
}

// groupMembers are the VolumeSnapshots the snapshot controller made for
// the VolumeGroupSnapshot group, by the claim each captured.
func groupMembers(t *testing.T, snaps snapshots.Interface, ns, group string) map[string]snapshotv1.VolumeSnapshot {
	t.Helper()
	list, err := snaps.SnapshotV1().VolumeSnapshots(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]snapshotv1.VolumeSnapshot{}
	for _, vs := range list.Items {
		if vs.Status != nil && ptr.Deref(vs.Status.VolumeGroupSnapshotName, "") == group {
			members[ptr.Deref(vs.Spec.Source.PersistentVolumeClaimName, "")] = vs
		}
	}
	return members
}

// failingGroupClass creates a VolumeGroupSnapshotClass of the local
// driver whose group snapshots all fail with message, named after the
// namespace.
func failingGroupClass(t *testing.T, ns, message string) string {
	t.Helper()
	class := &groupsnapshotv1.VolumeGroupSnapshotClass{
		ObjectMeta:     metav1.ObjectMeta{Name: "fail-" + ns},
		Driver:         localcluster.CSIDriverName,
		DeletionPolicy: snapshotv1.VolumeSnapshotContentDelete,
		Parameters:     map[string]string{localcsi.ParameterFail: message},
	}
	snaps := e2eutil.SnapshotClient(t, clustertest.RestConfig())
	if _, err := snaps.GroupsnapshotV1().VolumeGroupSnapshotClasses().Create(context.Background(), class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = snaps.GroupsnapshotV1().VolumeGroupSnapshotClasses().Delete(context.Background(), class.Name, metav1.DeleteOptions{})
	})
	return class.Name
}
