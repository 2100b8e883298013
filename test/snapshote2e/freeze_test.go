package snapshote2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/snapshot"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// The freeze and thaw hooks run in each member's claim directory (where
// the local cluster's exec runs). The freeze logs its time and leaves a
// file "frozen", which the thaw removes after logging its own time: a
// VolumeSnapshot cut while its member was frozen holds "frozen". With the
// file fail-freeze the freeze fails.
const (
	freezeHook = `test -f fail-freeze && { echo "cannot flush: disk busy" >&2; exit 4; }; echo "$(date +%s%N)" >> freeze.log; echo frozen > frozen`
	thawHook   = `echo "$(date +%s%N)" >> thaw.log; rm -f frozen`
)

// freezingRollout is newRollout with replication hooks that keep no state
// and the freeze and thaw hooks above.
func freezingRollout(ns string, replicas int32, snapshots v1alpha1.SnapshotSpec) *v1alpha1.StatefulSetRollout {
	r := newRollout(ns, replicas, snapshots)
	r.Spec.Replication = e2eutil.ShellReplication("echo 0", "true", "true", "true", "true")
	r.Spec.Replication.Hooks.Freeze = &v1alpha1.Hook{Command: []string{"sh", "-c", freezeHook}}
	r.Spec.Replication.Hooks.Thaw = &v1alpha1.Hook{Command: []string{"sh", "-c", thawHook}}
	return r
}

// An on-demand set of 3 members with freeze and thaw hooks: every member
// froze before this process saw the first VolumeSnapshot of the set, none
// thawed before all had frozen, every VolumeSnapshot holds its member's
// "frozen" file (it was cut between the freeze and the thaw) while the
// live volumes no longer do, and the set's record says so in order.
func TestFreezeAndThawAroundTheCut(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	const replicas = 3
	r := freezingRollout(ns, replicas, v1alpha1.SnapshotSpec{})
	createCompleted(t, c, r)
	seen := watchVolumeSnapshots(t, ns)

	set := snapshot.NewSet(r, "db-frozen", v1alpha1.SnapshotOnDemand)
	if err := c.Create(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	set = waitSet(t, c, ns, set.Name, v1alpha1.SnapshotReady)

	f := set.Status.Freeze
	if f == nil || f.CutAt == nil || f.ThawStartedAt == nil || f.ThawedAt == nil || len(f.Members) != replicas {
		t.Fatalf("the Ready set's freeze record is incomplete: %+v", f)
	}
	if f.CutAt.Before(&f.StartedAt) || f.ThawedAt.Before(f.CutAt) || f.TimeoutSeconds != v1alpha1.DefaultFreezeTimeoutSeconds {
		t.Errorf("freeze record out of order: started %s, cut %s, thawed %s, limit %ds", f.StartedAt, f.CutAt, f.ThawedAt, f.TimeoutSeconds)
	}
	firstSnapshot := seen.first()
	if firstSnapshot.IsZero() {
		t.Fatal("no VolumeSnapshot was seen")
	}
	var lastFreeze, firstThaw int64
	for i, m := range f.Members {
		pod := fmt.Sprintf("%s-%d", r.Name, i)
		if m.Name != pod || m.FrozenAt == nil || m.ThawedAt == nil || m.LastError != "" {
			t.Errorf("member record %+v", m)
		}
		freezes, thaws := logTimes(t, ns, pod, "freeze.log"), logTimes(t, ns, pod, "thaw.log")
		if len(freezes) != 1 || len(thaws) != 1 {
			t.Fatalf("%s froze %d times and thawed %d times, want once each", pod, len(freezes), len(thaws))
		}
		if at := time.Unix(0, freezes[0]); !at.Before(firstSnapshot) {
			t.Errorf("%s froze at %s, not before the first VolumeSnapshot was seen at %s", pod, at.Format(time.StampMicro), firstSnapshot.Format(time.StampMicro))
		}
		lastFreeze = max(lastFreeze, freezes[0])
		if firstThaw == 0 || thaws[0] < firstThaw {
			firstThaw = thaws[0]
		}
		if _, err := os.Stat(filepath.Join(clustertest.ClaimDir(t, ns, "data-"+pod), "frozen")); !os.IsNotExist(err) {
			t.Errorf("%s is still frozen after the set was Ready (stat: %v)", pod, err)
		}
	}
	if firstThaw <= lastFreeze {
		t.Errorf("a member thawed at %d before the last one froze at %d", firstThaw, lastFreeze)
	}
	cs, err := kubernetes.NewForConfig(clustertest.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range set.Status.Volumes {
		claim := "from-" + v.VolumeSnapshot
		if err := c.Create(context.Background(), withNamespace(e2eutil.Claim(claim, "1Gi", v.VolumeSnapshot), ns)); err != nil {
			t.Fatal(err)
		}
		e2eutil.WaitClaimBound(t, cs, ns, claim)
		data, err := os.ReadFile(filepath.Join(clustertest.ClaimDir(t, ns, claim), "frozen"))
		if err != nil || strings.TrimSpace(string(data)) != "frozen" {
			t.Errorf("VolumeSnapshot %s of %s was not cut while its member was frozen: %q, %v", v.VolumeSnapshot, v.Member, data, err)
		}
	}
	e2eutil.WaitEvent(t, c, set, snapshot.ReasonFreezeStarted, time.Minute, "Freezing 3 members")
	e2eutil.WaitEvent(t, c, set, snapshot.ReasonThawed, time.Minute, "3 members thawed")
}

// A freeze hook that fails on one member before a rollout: the set fails
// with the hook's message and no VolumeSnapshot, every member is thawed
// (the one whose freeze failed too), and the rollout is Degraded with no
// pod deleted.
func TestFailingFreezeFailsTheSetAndThawsEveryMember(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	const replicas = 3
	r := freezingRollout(ns, replicas, v1alpha1.SnapshotSpec{BeforeRollout: true})
	createCompleted(t, c, r)
	e2eutil.PodShell(t, ns, "db-1", "touch fail-freeze")
	pods := e2eutil.WatchPods(t, clustertest.RestConfig(), ns, r.Name, replicas)

	e2eutil.SetImage(t, c, r, "v2")
	name := beforeRolloutSet(t, c, r)
	got := e2eutil.WaitRollout(t, c, r, 2*time.Minute, "Degraded by the freeze", func(got *v1alpha1.StatefulSetRollout) bool {
		cond := meta.FindStatusCondition(got.Status.Conditions, plan.ConditionProgressing)
		return got.Status.Phase == v1alpha1.PhaseDegraded && cond != nil && cond.Reason == plan.ReasonSnapshotFailed
	})
	for _, part := range []string{"could not freeze db-1", "cannot flush: disk busy", "no pod was touched"} {
		if !strings.Contains(got.Status.Message, part) {
			t.Errorf("message %q does not say %q", got.Status.Message, part)
		}
	}
	set := waitSet(t, c, ns, name, v1alpha1.SnapshotFailed)
	e2eutil.Eventually(t, time.Minute, "every member thawed", func() (bool, string) {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(set), set); err != nil {
			return false, err.Error()
		}
		return set.Status.Freeze != nil && set.Status.Freeze.ThawedAt != nil, fmt.Sprintf("%+v", set.Status.Freeze)
	})
	for i := range replicas {
		pod := fmt.Sprintf("%s-%d", r.Name, i)
		if thaws := logTimes(t, ns, pod, "thaw.log"); len(thaws) != 1 {
			t.Errorf("%s thawed %d times, want once", pod, len(thaws))
		}
		if out := e2eutil.PodShell(t, ns, pod, "test -f frozen && echo frozen || echo thawed"); out != "thawed" {
			t.Errorf("%s is %s after the failed set", pod, out)
		}
	}
	snaps := e2eutil.SnapshotClient(t, clustertest.RestConfig())
	list, err := snaps.SnapshotV1().VolumeSnapshots(ns).List(context.Background(), metav1.ListOptions{LabelSelector: v1alpha1.LabelSnapshotSet + "=" + name})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("%d VolumeSnapshots were created for a set whose freeze failed", len(list.Items))
	}
	e2eutil.WaitEvent(t, c, set, snapshot.ReasonFreezeFailed, time.Minute, "could not freeze db-1")
	if n := len(pods.Seen().Deletions); n != 0 {
		t.Fatalf("%d pods deleted after a failed freeze, want none", n)
	}
	if img := statefulSetImage(t, c, r); img != e2eutil.Image+":v1" {
		t.Fatalf("the StatefulSet has image %s after a failed freeze, want the old one", img)
	}
}

// logTimes are the nanosecond times a hook logged in a member's file.
func logTimes(t *testing.T, ns, pod, file string) []int64 {
	t.Helper()
	var times []int64
	for _, line := range strings.Fields(e2eutil.PodShell(t, ns, pod, "cat "+file+" 2>/dev/null || true")) {
		n, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			t.Fatalf("%s of %s: %q", file, pod, line)
		}
		times = append(times, n)
	}
	return times
}

// snapshotWatcher records when this process first saw a VolumeSnapshot
// of the namespace: after the API server created it.
type snapshotWatcher struct {
	mu    sync.Mutex
	times []time.Time
}

func watchVolumeSnapshots(t *testing.T, ns string) *snapshotWatcher {
	t.Helper()
	snaps := e2eutil.SnapshotClient(t, clustertest.RestConfig())
	w, err := snaps.SnapshotV1().VolumeSnapshots(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sw := &snapshotWatcher{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if ev.Type == watch.Added {
				sw.mu.Lock()
				sw.times = append(sw.times, time.Now())
				sw.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { w.Stop(); <-done })
	return sw
}

func (w *snapshotWatcher) first() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.times) == 0 {
		return time.Time{}
	}
	return w.times[0]
}
