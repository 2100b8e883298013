package snapshote2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/internal/snapshot"
	"github.com/sroll-dev/sroll/test/e2eutil"
	"github.com/sroll-dev/sroll/test/pgtest"
)

// The PostgreSQL example (examples/postgres) with a writer inserting rows
// while a snapshot set is taken: after a restore from that set, every row
// acknowledged before the set was asked for is there, none acknowledged
// after it was Ready is, and replication recovers to Healthy from the
// restored copies.
func TestPostgresRestoreBringsBackTheSnapshottedRows(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	pg := pgtest.Example(t, ns)
	r := pg.Rollout
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	booted := e2eutil.WaitReplication(t, c, r, 3*time.Minute, "Healthy after bootstrap", e2eutil.Healthy)
	e2eutil.WaitCompleted(t, c, r, time.Minute)

	w := pg.StartWriter(t)
	w.WaitAcked(t, 50, time.Minute)
	before := w.Acked()
	set := snapshot.NewSet(e2eutil.GetRollout(t, c, r), "pg-before", v1alpha1.SnapshotOnDemand)
	if err := c.Create(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	ready := waitSet(t, c, ns, set.Name, v1alpha1.SnapshotReady)
	snapshotted := len(w.Acked())
	// The example's freeze hook (a CHECKPOINT) ran on every member before
	// the cut, and its thaw after it.
	if f := ready.Status.Freeze; f == nil || f.CutAt == nil || f.ThawedAt == nil || len(f.Members) != len(pg.Members()) ||
		slices.ContainsFunc(f.Members, func(m v1alpha1.FrozenMember) bool { return m.FrozenAt == nil || m.LastError != "" }) {
		t.Errorf("the set's freeze record: %+v", f)
	}
	w.WaitAcked(t, 50, time.Minute)
	all := w.Stop()
	after := all[snapshotted:]

	e2eutil.Patch(t, c, r, fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, v1alpha1.AnnotationRestore, set.Name))
	e2eutil.WaitEvent(t, c, r, snapshot.ReasonRestored, 3*time.Minute, "from snapshot set "+set.Name)
	recovered := e2eutil.WaitReplication(t, c, r, 3*time.Minute, "Healthy after the restore", func(st *v1alpha1.ReplicationStatus) bool {
		return e2eutil.Healthy(st) && e2eutil.NewPods(st, booted)
	})
	present := pg.Rows(t, recovered.Seed)
	if missing := pgtest.Missing(before, present); len(missing) > 0 {
		t.Errorf("%d rows acknowledged before the snapshot are missing after the restore, the first %v", len(missing), missing[:min(10, len(missing))])
	}
	var back []int64
	for _, n := range after {
		if _, found := slices.BinarySearch(present, n); found {
			back = append(back, n)
		}
	}
	if len(back) > 0 {
		t.Errorf("%d rows acknowledged after the snapshot was Ready are back after the restore, the first %v", len(back), back[:min(10, len(back))])
	}
	t.Logf("%d rows before the snapshot, %d after it; %d present on %s after the restore", len(before), len(after), len(present), recovered.Seed)
	for _, m := range pg.Members() {
		if m != recovered.Seed && !pg.Standby(t, m) {
			t.Errorf("%s is not a standby of %s after the restore", m, recovered.Seed)
		}
	}
}
