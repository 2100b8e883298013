package snapshote2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
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

// With beforeRollout and group Never, a new image waits until a Ready set
// holds one VolumeSnapshot of each of the 5 members' claims, taken before
// the first pod is deleted (the times this process saw each), and the
// snapshots hold what the members wrote. (group_test.go has the same with
// one VolumeGroupSnapshot, the default on the local cluster.)
func TestBeforeRolloutSetIsReadyBeforeAnyPodGoes(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	const replicas = 5
	r := newRollout(ns, replicas, v1alpha1.SnapshotSpec{BeforeRollout: true, Group: v1alpha1.SnapshotGroupNever})
	createCompleted(t, c, r)
	stable := e2eutil.GetRollout(t, c, r).Status.StableRevision
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
	if set.Spec.Reason != v1alpha1.SnapshotBeforeRollout || set.Status.Revision != stable || set.Status.Replicas != replicas ||
		set.Status.ReadyVolumes != replicas || len(set.Status.Volumes) != replicas {
		t.Errorf("set %s: reason %s revision %s (want %s) members %d ready %d of %d volumes", name, set.Spec.Reason,
			set.Status.Revision, stable, set.Status.Replicas, set.Status.ReadyVolumes, len(set.Status.Volumes))
	}
	if !slices.Equal(set.Status.Images, []string{e2eutil.Image + ":v1"}) {
		t.Errorf("set %s captured images %v, want [%s:v1]", name, set.Status.Images, e2eutil.Image)
	}
	snaps := e2eutil.SnapshotClient(t, clustertest.RestConfig())
	for i, v := range set.Status.Volumes {
		vs, err := snaps.SnapshotV1().VolumeSnapshots(ns).Get(context.Background(), v.VolumeSnapshot, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if claim := fmt.Sprintf("data-db-%d", i); ptr.Deref(vs.Spec.Source.PersistentVolumeClaimName, "") != claim || v.Claim != claim {
			t.Errorf("volume %d: snapshot of %q, recorded claim %q, want %s", i, ptr.Deref(vs.Spec.Source.PersistentVolumeClaimName, ""), v.Claim, claim)
		}
		if owner := metav1.GetControllerOf(vs); owner == nil || owner.UID != set.UID {
			t.Errorf("VolumeSnapshot %s is not owned by its set: %v", vs.Name, vs.OwnerReferences)
		}
	}
	// What a snapshot holds: a claim provisioned from one of them.
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
		t.Errorf("the snapshot of data-db-2 holds marker %q, want v1-db-2", got)
	}
	e2eutil.WaitEvent(t, c, set, "SnapshotReady", time.Minute, "5 volume snapshots of 5 members ready")
}

// A VolumeSnapshotClass whose driver fails every snapshot (named, so group
// Auto takes one VolumeSnapshot per claim of that class): the new image
// leaves the rollout Degraded, saying why, with no pod deleted and the
// StatefulSet on its old template. With the class fixed, a retry takes a
// new set and rolls out.
func TestFailingSnapshotDegradesWithNoPodTouched(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	class := failingClass(t, ns, "out of snapshot space")
	e2eutil.StartOperator(t, ns)
	const replicas = 3
	r := newRollout(ns, replicas, v1alpha1.SnapshotSpec{BeforeRollout: true, VolumeSnapshotClassName: class})
	createCompleted(t, c, r)
	pods := e2eutil.WatchPods(t, clustertest.RestConfig(), ns, r.Name, replicas)

	e2eutil.SetImage(t, c, r, "v2")
	name := beforeRolloutSet(t, c, r)
	got := e2eutil.WaitRollout(t, c, r, 2*time.Minute, "Degraded by the snapshot", func(got *v1alpha1.StatefulSetRollout) bool {
		cond := meta.FindStatusCondition(got.Status.Conditions, plan.ConditionProgressing)
		return got.Status.Phase == v1alpha1.PhaseDegraded && cond != nil && cond.Reason == plan.ReasonSnapshotFailed
	})
	for _, part := range []string{"snapshot set " + name + " failed", "out of snapshot space", "no pod was touched"} {
		if !strings.Contains(got.Status.Message, part) {
			t.Errorf("message %q does not say %q", got.Status.Message, part)
		}
	}
	set := waitSet(t, c, ns, name, v1alpha1.SnapshotFailed)
	e2eutil.WaitEvent(t, c, got, plan.ReasonSnapshotFailed, time.Minute, "out of snapshot space")
	if n := len(pods.Seen().Deletions); n != 0 {
		t.Fatalf("%d pods deleted after a failed snapshot, want none", n)
	}
	sts := statefulSetImage(t, c, r)
	if sts != e2eutil.Image+":v1" {
		t.Fatalf("the StatefulSet has image %s after a failed snapshot, want the old one", sts)
	}
	if set.Status.ReadyVolumes != 0 {
		t.Errorf("the failed set has %d ready volumes", set.Status.ReadyVolumes)
	}

	e2eutil.Patch(t, c, r, `{"spec":{"snapshots":{"volumeSnapshotClassName":"`+localcluster.StorageClassName+`"}}}`)
	e2eutil.Patch(t, c, r, fmt.Sprintf(`{"metadata":{"annotations":{%q:"1"}}}`, v1alpha1.AnnotationRetry))
	retried := beforeRolloutSetOtherThan(t, c, r, name)
	e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
	waitSet(t, c, ns, retried, v1alpha1.SnapshotReady)
}

// keep: 2 keeps the two newest automatic sets after four rollouts, and
// deletes the older ones with their VolumeSnapshots (group Never: the
// group's own deletion is in group_test.go); an on-demand set (a group,
// group Auto by default on the set) is the user's and stays.
func TestKeepRetainsTheNewestAutomaticSets(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	keep := int32(2)
	r := newRollout(ns, 2, v1alpha1.SnapshotSpec{BeforeRollout: true, Keep: &keep, Group: v1alpha1.SnapshotGroupNever})
	createCompleted(t, c, r)
	onDemand := &v1alpha1.RolloutSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "by-hand"},
		Spec:       v1alpha1.RolloutSnapshotSpec{RolloutName: r.Name},
	}
	if err := c.Create(context.Background(), onDemand); err != nil {
		t.Fatal(err)
	}
	waitSet(t, c, ns, onDemand.Name, v1alpha1.SnapshotReady)

	var taken []string
	for _, tag := range []string{"v2", "v3", "v4", "v5"} {
		e2eutil.SetImage(t, c, r, tag)
		taken = append(taken, beforeRolloutSet(t, c, r))
		e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
	}
	want := []string{onDemand.Name, taken[2], taken[3]}
	slices.Sort(want)
	e2eutil.Eventually(t, time.Minute, "only the two newest automatic sets and the on-demand one", func() (bool, string) {
		var names []string
		for name := range sets(t, c, ns) {
			names = append(names, name)
		}
		slices.Sort(names)
		return slices.Equal(names, want), fmt.Sprintf("sets %v, want %v (taken %v)", names, want, taken)
	})
	snaps := e2eutil.SnapshotClient(t, clustertest.RestConfig())
	e2eutil.Eventually(t, time.Minute, "the deleted sets' VolumeSnapshots gone", func() (bool, string) {
		list, err := snaps.SnapshotV1().VolumeSnapshots(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var left []string
		for _, vs := range list.Items {
			if !slices.Contains(want, setOf(&vs)) {
				left = append(left, vs.Name)
			}
		}
		return len(left) == 0 && len(list.Items) == 2*len(want), fmt.Sprintf("%d VolumeSnapshots, of deleted sets: %v", len(list.Items), left)
	})
}

// setOf names the snapshot set a VolumeSnapshot belongs to: the set's
// label on one of its own, the VolumeGroupSnapshot (named like its set)
// owning a member of a group.
func setOf(vs *snapshotv1.VolumeSnapshot) string {
	if set := vs.Labels[v1alpha1.LabelSnapshotSet]; set != "" {
		return set
	}
	for _, ref := range vs.OwnerReferences {
		if ref.Kind == "VolumeGroupSnapshot" {
			return ref.Name
		}
	}
	return ""
}

// failingClass creates a VolumeSnapshotClass of the local driver whose
// snapshots all fail with message, named after the namespace.
func failingClass(t *testing.T, ns, message string) string {
	t.Helper()
	class := &snapshotv1.VolumeSnapshotClass{
		ObjectMeta:     metav1.ObjectMeta{Name: "fail-" + ns},
		Driver:         localcluster.CSIDriverName,
		DeletionPolicy: snapshotv1.VolumeSnapshotContentDelete,
		Parameters:     map[string]string{localcsi.ParameterFail: message},
	}
	snaps := e2eutil.SnapshotClient(t, clustertest.RestConfig())
	if _, err := snaps.SnapshotV1().VolumeSnapshotClasses().Create(context.Background(), class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = snaps.SnapshotV1().VolumeSnapshotClasses().Delete(context.Background(), class.Name, metav1.DeleteOptions{})
	})
	return class.Name
}

// beforeRolloutSetOtherThan waits until the rollout waits for another set
// than old, and returns its name.
func beforeRolloutSetOtherThan(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, old string) string {
	t.Helper()
	got := e2eutil.WaitRollout(t, c, r, time.Minute, "a new before-rollout set", func(got *v1alpha1.StatefulSetRollout) bool {
		s := got.Status.Snapshots
		return s != nil && s.BeforeRollout != nil && s.BeforeRollout.Name != old
	})
	return got.Status.Snapshots.BeforeRollout.Name
}

func statefulSetImage(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout) string {
	t.Helper()
	var sts appsv1.StatefulSet
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(r), &sts); err != nil {
		t.Fatal(err)
	}
	return sts.Spec.Template.Spec.Containers[0].Image
}

func withNamespace[T client.Object](obj T, ns string) T {
	obj.SetNamespace(ns)
	return obj
}

// readMarker is the marker file in a bound claim's directory.
func readMarker(t *testing.T, ns, claim string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(clustertest.ClaimDir(t, ns, claim), "marker"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}
