package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
	"github.com/sroll-dev/sroll/test/pgtest"
)

// The PostgreSQL example (examples/postgres) through a lights-out with
// pod 0 behind, then a rollout, while a writer inserts rows: sroll seeds
// the copy with the newest data, every acknowledged row survives, and the
// other members come back as standbys of the new primary.
func TestPostgresLightsOutKeepsAcknowledgedRows(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	pg := pgtest.Example(t, ns)
	r := pg.Rollout
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	booted := e2eutil.WaitReplication(t, c, r, 3*time.Minute, "Healthy after bootstrap", healthy)
	if booted.Seed != "pg-0" {
		t.Fatalf("day 1 seeded %s; every copy was empty, so the tie goes to pg-0", booted.Seed)
	}

	// pg-0, the primary, crashes and loses its data (a disk replaced), and
	// its pod goes. No primary runs: the set recovers from the newest copy,
	// a standby.
	pg.Kill(t, "pg-0")
	podShell(t, ns, "pg-0", "rm -rf pg")
	kubectl(t, ns, "delete", "pod", "pg-0", "--wait=false")
	moved := e2eutil.WaitReplication(t, c, r, 3*time.Minute, "Healthy after pg-0 lost its data", func(st *v1alpha1.ReplicationStatus) bool {
		return healthy(st) && st.Members[0].Incarnation != booted.Members[0].Incarnation
	})
	if moved.Seed == "pg-0" {
		t.Fatalf("seeded pg-0, whose data is gone: %s", describeMembers(moved))
	}

	// pg-0, a standby now, stops; the primary keeps taking writes.
	w := pg.StartWriter(t)
	w.WaitAcked(t, 20, time.Minute)
	pg.Hook(t, "pg-0", "stop")
	w.WaitAcked(t, 200, time.Minute)
	// The premise of what follows: pg-0's copy stayed behind, its server
	// down all along, not started again by anyone (its log says by whom).
	if out := strings.TrimSpace(podShell(t, ns, "pg-0", serverRuns)); out != "stopped" {
		t.Fatalf("pg-0 %s after its stop hook; pg/log: %s", out, podShell(t, ns, "pg-0", "tail -n 20 pg/log"))
	}

	// Lights-out: every server killed, every pod deleted. The pods go only
	// once sroll saw every server fail its status hook: a pod recreated
	// while the primary's was still listed, passing its last check, is
	// joined to it, and the copy it rewinds or copies from that primary is
	// no longer the one stopped behind (seen in a loaded run: pg-0 reported
	// the primary's sequence).
	pg.Kill(t, pg.Members()...)
	e2eutil.WaitReplication(t, c, r, time.Minute, "every member failing its status hook", func(st *v1alpha1.ReplicationStatus) bool {
		return !slices.ContainsFunc(st.Members, func(m v1alpha1.ReplicationMember) bool { return m.State == v1alpha1.MemberRunning })
	})
	deletePods(t, ns, r.Name)
	running := waitPodsRunning(t, c, r, moved)
	recovered := e2eutil.WaitReplication(t, c, r, 3*time.Minute, "Healthy after the lights-out", func(st *v1alpha1.ReplicationStatus) bool {
		return healthy(st) && e2eutil.NewPods(st, moved)
	})
	t.Logf("recovery: %s from the last pod Running to replication Healthy; sequences %s, seeded %s",
		time.Since(running).Round(100*time.Millisecond), sequences(recovered), recovered.Seed)
	if !checkSeededTheNewest(t, recovered) {
		t.Logf("pg-0's pg/log: %s", podShell(t, ns, "pg-0", "tail -n 40 pg/log"))
	}
	checkStandbysOf(t, pg, recovered.Seed)
	w.WaitAcked(t, 50, time.Minute)
	checkAcknowledgedPresent(t, pg, w, recovered.Seed, "after the lights-out")

	// A rollout of every pod, the primary's too, with the writer on.
	rollout := time.Now()
	e2eutil.Patch(t, c, r, `{"spec":{"template":{"spec":{"containers":[{"name":"db","image":"postgres:15.18-bookworm"}]}}}}`)
	rolled := e2eutil.WaitRollout(t, c, r, 3*time.Minute, "rollout completed, replication Healthy", func(got *v1alpha1.StatefulSetRollout) bool {
		return e2eutil.Completed(got) && got.Status.Replication != nil && healthy(got.Status.Replication) &&
			e2eutil.NewPods(got.Status.Replication, recovered)
	}).Status.Replication
	t.Logf("rollout of 3 pods, the primary's too: %s; seeded %s", time.Since(rollout).Round(100*time.Millisecond), rolled.Seed)
	checkStandbysOf(t, pg, rolled.Seed)
	w.WaitAcked(t, 50, time.Minute)
	w.Stop()
	checkAcknowledgedPresent(t, pg, w, rolled.Seed, "after the rollout")
}

func healthy(st *v1alpha1.ReplicationStatus) bool { return st.Phase == v1alpha1.ReplicationHealthy }

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
// seed reported the highest, and pg-0, which was stopped while the primary
// took writes, a lower one. It reports whether all held.
func checkSeededTheNewest(t *testing.T, st *v1alpha1.ReplicationStatus) bool {
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
	if st.Seed == "pg-0" || seq["pg-0"] >= seq[st.Seed] {
		ok = false
		t.Errorf("pg-0 fell behind, yet: seeded %s, sequences %s", st.Seed, sequences(st))
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
