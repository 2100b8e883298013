package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/internal/replication"
	"github.com/sroll-dev/sroll/test/e2eutil"
	"github.com/sroll-dev/sroll/test/pgtest"
)

// The PostgreSQL example (examples/postgres) through a rollout, a
// lights-out with the primary behind, and a failover, while a writer
// inserts rows. The rollout hands the primary role over once (its
// switchover hook), with a moment of failed writes; the lights-out seeds
// the copy with the newest data; the failover promotes the standby with
// the most WAL. Every acknowledged row survives each, and the other
// members come back as standbys of the new primary.
func TestPostgresKeepsAcknowledgedRows(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	pg := pgtest.Example(t, ns)
	r := pg.Rollout
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	booted := e2eutil.WaitReplication(t, c, r, 3*time.Minute, "Healthy after bootstrap", e2eutil.Healthy)
	if booted.Seed != "pg-0" {
		t.Fatalf("day 1 seeded %s; every copy was empty, so the tie goes to pg-0", booted.Seed)
	}

	// A rollout of every pod, the primary's too, with the writer on: the
	// primary's pod goes last (pg-0), after its role was switched over to
	// an updated standby, once.
	w := pg.StartWriter(t)
	w.WaitAcked(t, 20, time.Minute)
	primary := e2eutil.Primary(booted)
	rollout := time.Now()
	e2eutil.Patch(t, c, r, `{"spec":{"template":{"spec":{"containers":[{"name":"db","image":"postgres:15.18-bookworm"}]}}}}`)
	rolled := e2eutil.WaitRollout(t, c, r, 3*time.Minute, "rollout completed, replication Healthy", func(got *v1alpha1.StatefulSetRollout) bool {
		return e2eutil.Completed(got) && got.Status.Replication != nil && e2eutil.Healthy(got.Status.Replication) &&
			got.Status.Replication.Promotion == nil && e2eutil.NewPods(got.Status.Replication, booted)
	}).Status.Replication
	w.WaitAcked(t, 50, time.Minute)
	w.Stop()
	t.Logf("rollout of 3 pods, the primary's too: %s; writes failed for %v", time.Since(rollout).Round(100*time.Millisecond), w.FailedWindows())
	if n := eventsSince(t, c, r, replication.ReasonSwitchoverStart, rollout); n != 1 {
		t.Errorf("%d switchovers during the rollout, want 1", n)
	}
	if n := eventsSince(t, c, r, replication.ReasonRecoveryStarted, rollout); n != 0 {
		t.Errorf("%d recoveries during the rollout, want none", n)
	}
	moved := e2eutil.Primary(rolled)
	if moved == primary || moved == "" {
		t.Fatalf("primary %q after the rollout, %s before it: %s", moved, primary, describeMembers(rolled))
	}
	checkStandbysOf(t, pg, moved)
	checkAcknowledgedPresent(t, pg, w, moved, "after the rollout")

	// The primary crashes and loses its data (a disk replaced), and its pod
	// goes. No primary runs: the set recovers from the newest copy, a
	// standby. The writer starts afresh after it: a crash loses the writes
	// a standby had not received yet (replication is asynchronous).
	pg.Query(t, moved, "TRUNCATE "+pgtest.Table)
	lost := moved
	pg.Kill(t, lost)
	e2eutil.PodShell(t, ns, lost, "rm -rf pg")
	kubectl(t, ns, "delete", "pod", lost, "--wait=false")
	recreated := e2eutil.WaitReplication(t, c, r, 3*time.Minute, "Healthy after "+lost+" lost its data", func(st *v1alpha1.ReplicationStatus) bool {
		return e2eutil.Healthy(st) && member(st, lost).Incarnation != member(rolled, lost).Incarnation
	})
	if recreated.Seed == lost {
		t.Fatalf("seeded %s, whose data is gone: %s", lost, describeMembers(recreated))
	}

	// lost, a standby now, stops; the primary keeps taking writes.
	w = pg.StartWriter(t)
	w.WaitAcked(t, 20, time.Minute)
	pg.Hook(t, lost, "stop")
	w.WaitAcked(t, 200, time.Minute)
	// The premise of what follows: lost's copy stayed behind, its server
	// down all along, not started again by anyone (its log says by whom).
	if out := e2eutil.PodShell(t, ns, lost, serverRuns); out != "stopped" {
		t.Fatalf("%s %s after its stop hook; pg/log: %s", lost, out, e2eutil.PodShell(t, ns, lost, "tail -n 20 pg/log"))
	}

	// Lights-out: every server killed, every pod deleted. The pods go only
	// once sroll saw every server fail its status hook: a pod recreated
	// while the primary's was still listed, passing its last check, is
	// joined to it, and the copy it rewinds or copies from that primary is
	// no longer the one stopped behind (seen in a loaded run: the stopped
	// copy reported the primary's sequence).
	pg.Kill(t, pg.Members()...)
	e2eutil.WaitReplication(t, c, r, time.Minute, "every member failing its status hook", func(st *v1alpha1.ReplicationStatus) bool {
		return !slices.ContainsFunc(st.Members, func(m v1alpha1.ReplicationMember) bool { return m.State == v1alpha1.MemberRunning })
	})
	deletePods(t, ns, r.Name)
	running := waitPodsRunning(t, c, r, recreated)
	recovered := e2eutil.WaitReplication(t, c, r, 3*time.Minute, "Healthy after the lights-out", func(st *v1alpha1.ReplicationStatus) bool {
		return e2eutil.Healthy(st) && e2eutil.NewPods(st, recreated)
	})
	t.Logf("recovery: %s from the last pod Running to replication Healthy; sequences %s, seeded %s",
		time.Since(running).Round(100*time.Millisecond), sequences(recovered), recovered.Seed)
	if !checkSeededTheNewest(t, recovered, lost) {
		t.Logf("%s's pg/log: %s", lost, e2eutil.PodShell(t, ns, lost, "tail -n 40 pg/log"))
	}
	checkStandbysOf(t, pg, recovered.Seed)
	w.WaitAcked(t, 50, time.Minute)
	checkAcknowledgedPresent(t, pg, w, recovered.Seed, "after the lights-out")

	// Failover: the primary's processes are killed, its pod stays. With
	// synchronous replication to any one standby (set on this primary
	// only), an acknowledged commit is on a standby: the one with the
	// most WAL, which sroll promotes, has them all.
	const after = 3
	e2eutil.Patch(t, c, r, fmt.Sprintf(`{"spec":{"replication":{"failover":{"enabled":true,"afterSeconds":%d}}}}`, after))
	primary = e2eutil.Primary(recovered)
	pg.Query(t, primary, "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (*)'")
	pg.Query(t, primary, "SELECT pg_reload_conf()")
	w.WaitAcked(t, 50, time.Minute)
	killed := time.Now()
	pg.Kill(t, primary)
	failedOver := e2eutil.WaitReplication(t, c, r, 2*time.Minute, "Healthy after a failover", func(st *v1alpha1.ReplicationStatus) bool {
		return e2eutil.Healthy(st) && st.Promotion == nil && e2eutil.Primary(st) != primary && e2eutil.Primary(st) != ""
	})
	w.WaitAcked(t, 50, time.Minute)
	w.Stop()
	promoted := e2eutil.Primary(failedOver)
	started := lastEvent(t, c, r, replication.ReasonFailoverStart)
	chosen := lastEvent(t, c, r, replication.ReasonFailoverChosen)
	windows := w.FailedWindows()
	t.Logf("failover: %s from the kill to replication Healthy; %s; writes failed for %v",
		time.Since(killed).Round(100*time.Millisecond), chosen.Note, windows[len(windows)-1])
	if started.EventTime.Time.Before(killed.Add(after * time.Second)) {
		t.Errorf("failover started %s after the kill, before failover.afterSeconds (%ds)", started.EventTime.Sub(killed), after)
	}
	if !strings.HasPrefix(chosen.Note, "promoting "+promoted+",") {
		t.Errorf("status says %s is primary, the event: %s", promoted, chosen.Note)
	}
	top := member(failedOver, promoted).Sequence
	for _, m := range failedOver.Members {
		if m.Name != primary && m.Sequence != nil && (top == nil || *m.Sequence > *top) {
			t.Errorf("promoted %s, but %s had more WAL: %s", promoted, m.Name, sequences(failedOver))
		}
	}
	checkStandbysOf(t, pg, promoted)
	checkAcknowledgedPresent(t, pg, w, promoted, "after the failover")
}

// lastEvent is the newest Event with reason about r.
func lastEvent(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, reason string) eventsv1.Event {
	t.Helper()
	e := e2eutil.WaitEvent(t, c, r, reason, time.Second)
	var list eventsv1.EventList
	if err := c.List(context.Background(), &list, client.InNamespace(r.Namespace)); err != nil {
		t.Fatal(err)
	}
	for _, got := range list.Items {
		if got.Regarding.UID == r.UID && got.Reason == reason && got.EventTime.After(e.EventTime.Time) {
			e = got
		}
	}
	return e
}

func member(st *v1alpha1.ReplicationStatus, name string) v1alpha1.ReplicationMember {
	for _, m := range st.Members {
		if m.Name == name {
			return m
		}
	}
	return v1alpha1.ReplicationMember{}
}

// eventsSince counts the Events with reason about r since a time, each
// repetition of a series too.
func eventsSince(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, reason string, since time.Time) int {
	t.Helper()
	var list eventsv1.EventList
	if err := c.List(context.Background(), &list, client.InNamespace(r.Namespace)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.Items {
		if e.Regarding.UID != r.UID || e.Reason != reason {
			continue
		}
		switch {
		case e.Series != nil && e.Series.LastObservedTime.After(since):
			n += int(e.Series.Count)
		case e.EventTime.After(since):
			n++
		}
	}
	return n
}

// waitPodsRunning waits until every member runs in a new pod, and returns
// when that was seen.
func waitPodsRunning(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, before *v1alpha1.ReplicationStatus) time.Time {
	t.Helper()
	old := map[string]bool{}
	for _, m := range before.Members {
		uid, _, _ := strings.Cut(m.Incarnation, "/")
		old[uid] = true
	}
	e2eutil.Eventually(t, 2*time.Minute, "every pod Running again", func() (bool, string) {
		pods := &corev1.PodList{}
		if err := c.List(context.Background(), pods, client.InNamespace(r.Namespace), client.MatchingLabels{"app": r.Name}); err != nil {
			return false, err.Error()
		}
		running := 0
		for _, pod := range pods.Items {
			if pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp == nil && !old[string(pod.UID)] {
				running++
			}
		}
		return running == int(*r.Spec.Replicas), fmt.Sprintf("%d new pods Running", running)
	})
	return time.Now()
}

// serverRuns prints whether the member's PostgreSQL server runs: its
// postmaster.pid names a live process.
const serverRuns = `pid=$(head -n 1 pg/data/postmaster.pid 2>/dev/null) && kill -0 "$pid" 2>/dev/null && echo "runs (pid $pid)" || echo stopped`

// checkSeededTheNewest: every copy is still there (a sequence above 0), the
// seed reported the highest, and behind, which was stopped while the
// primary took writes, a lower one. It reports whether all held.
func checkSeededTheNewest(t *testing.T, st *v1alpha1.ReplicationStatus, behind string) bool {
	t.Helper()
	seq := map[string]int64{}
	for _, m := range st.Members {
		if m.Sequence == nil {
			t.Fatalf("%s reported no sequence: %s", m.Name, describeMembers(st))
		}
		seq[m.Name] = *m.Sequence
	}
	ok := true
	for name, n := range seq {
		if n <= 0 {
			ok = false
			t.Errorf("%s reported sequence %d: its copy is gone", name, n)
		}
		if n > seq[st.Seed] {
			ok = false
			t.Errorf("seeded %s (sequence %d), but %s reported %d", st.Seed, seq[st.Seed], name, n)
		}
	}
	if st.Seed == behind || seq[behind] >= seq[st.Seed] {
		ok = false
		t.Errorf("%s fell behind, yet: seeded %s, sequences %s", behind, st.Seed, sequences(st))
	}
	return ok
}

// checkStandbysOf: primary takes writes, every other member is a standby
// streaming from it.
func checkStandbysOf(t *testing.T, pg *pgtest.Set, primary string) {
	t.Helper()
	if pg.Standby(t, primary) {
		t.Errorf("%s, the seed, is in recovery", primary)
	}
	var others []string
	for _, m := range pg.Members() {
		if m == primary {
			continue
		}
		others = append(others, m)
		if !pg.Standby(t, m) {
			t.Errorf("%s is not a standby", m)
		}
	}
	if got := pg.Streaming(t, primary); !slices.Equal(got, others) {
		t.Errorf("standbys streaming from %s: %v, want %v", primary, got, others)
	}
}

// checkAcknowledgedPresent: every row the writer had acknowledged is on
// the primary.
func checkAcknowledgedPresent(t *testing.T, pg *pgtest.Set, w *pgtest.Writer, primary, when string) {
	t.Helper()
	acked := w.Acked()
	present := pg.Rows(t, primary)
	missing := pgtest.Missing(acked, present)
	t.Logf("%s: %d rows acknowledged, %d present on %s, %d acknowledged missing; %d inserts not acknowledged",
		when, len(acked), len(present), primary, len(missing), w.Failed())
	if len(missing) > 0 {
		t.Errorf("%s: %d acknowledged rows lost, the first %v", when, len(missing), missing[:min(10, len(missing))])
	}
}

func sequences(st *v1alpha1.ReplicationStatus) string {
	out := ""
	for _, m := range st.Members {
		seq := "?"
		if m.Sequence != nil {
			seq = fmt.Sprint(*m.Sequence)
		}
		out += fmt.Sprintf(" %s=%s", m.Name, seq)
	}
	return out[min(1, len(out)):]
}

func kubectl(t *testing.T, ns string, args ...string) {
	t.Helper()
	if _, err := clustertest.Kubectl(t, append([]string{"-n", ns}, args...)...); err != nil {
		t.Fatal(err)
	}
}
