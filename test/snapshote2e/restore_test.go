package snapshote2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/internal/snapshot"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// Markers changed after a snapshot: a restore (the sroll.dev/restore
// annotation, as kubectl sroll restore writes it) from a set that is one
// VolumeGroupSnapshot puts every member's marker back, each claim
// provisioned from the group's member of it, with the operator SIGKILLed
// and started again half-way; and a BeforeRestore set (group Never, as the
// rollout says: one VolumeSnapshot per claim) holds the changed markers.
func TestRestorePutsTheMarkersBack(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	op := e2eutil.StartOperator(t, ns)
	const replicas = 3
	r := newRollout(ns, replicas, v1alpha1.SnapshotSpec{Group: v1alpha1.SnapshotGroupNever})
	createCompleted(t, c, r)
	writeMarkers(t, r, "v1")
	taken := snapshot.NewSet(e2eutil.GetRollout(t, c, r), "taken", v1alpha1.SnapshotOnDemand)
	taken.Spec.Group = v1alpha1.SnapshotGroupAlways
	if err := c.Create(context.Background(), taken); err != nil {
		t.Fatal(err)
	}
	taken = waitSet(t, c, ns, taken.Name, v1alpha1.SnapshotReady)
	if taken.Status.Group == nil {
		t.Fatalf("set %s is not a group: %s", taken.Name, taken.Status.Message)
	}
	writeMarkers(t, r, "changed")

	e2eutil.Patch(t, c, r, fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, v1alpha1.AnnotationRestore, taken.Name))
	midway := e2eutil.WaitRollout(t, c, r, 2*time.Minute, "the restore past its BeforeRestore set", func(got *v1alpha1.StatefulSetRollout) bool {
		return got.Status.Restore != nil && got.Status.Restore.Step != v1alpha1.RestoreBeforeRestore
	})
	op.Kill()
	op.Start(t)
	before := midway.Status.Restore.BeforeRestore
	e2eutil.WaitEvent(t, c, r, snapshot.ReasonRestored, 3*time.Minute, "from snapshot set "+taken.Name)
	e2eutil.WaitRollout(t, c, r, 2*time.Minute, "Completed on the restored volumes", func(got *v1alpha1.StatefulSetRollout) bool {
		return got.Status.Restore == nil && e2eutil.Completed(got) && got.Status.ReadyReplicas == replicas
	})
	for i := range replicas {
		pod := fmt.Sprintf("db-%d", i)
		if got := e2eutil.PodShell(t, ns, pod, "cat marker"); got != "v1-"+pod {
			t.Errorf("%s holds marker %q after the restore, want v1-%s", pod, got, pod)
		}
	}

	set := waitSet(t, c, ns, before, v1alpha1.SnapshotReady)
	if set.Spec.Reason != v1alpha1.SnapshotBeforeRestore || set.Status.ReadyVolumes != replicas || set.Status.Group != nil {
		t.Fatalf("set %s: reason %s, %d ready volumes, group %+v; want BeforeRestore with %d, one VolumeSnapshot per claim", before, set.Spec.Reason, set.Status.ReadyVolumes, set.Status.Group, replicas)
	}
	restored := e2eutil.Claim("before-restore", "1Gi", set.Status.Volumes[0].VolumeSnapshot)
	if err := c.Create(context.Background(), withNamespace(restored, ns)); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(clustertest.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitClaimBound(t, cs, ns, "before-restore")
	if got := readMarker(t, ns, "before-restore"); got != "changed-db-0" {
		t.Errorf("the BeforeRestore snapshot of data-db-0 holds %q, want changed-db-0", got)
	}
	claim, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "data-db-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ds := claim.Spec.DataSource; ds == nil || ds.Name != taken.Status.Volumes[0].VolumeSnapshot {
		t.Errorf("data-db-0 is provisioned from %+v, want %s", ds, taken.Status.Volumes[0].VolumeSnapshot)
	}
}
