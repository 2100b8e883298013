package failovere2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// A rollout of a 3-member set with its primary on kv-0 (the last pod the
// partition walk reaches) replaces kv-2 and kv-1 as secondaries, then
// switches the primary role over exactly once, to an updated member,
// before it stops kv-0, which rejoins as a secondary of the new primary.
// No member is seeded again: no recovery.
func TestRolloutSwitchesOverOnce(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	r := replicatedRollout(ns)
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	booted := e2eutil.WaitReplication(t, c, r, 2*time.Minute, "Healthy with kv-0 primary", func(st *v1alpha1.ReplicationStatus) bool {
		return healthyWith(st, "kv-0")
	})

	start := time.Now()
	e2eutil.SetImage(t, c, r, "v2")
	done := e2eutil.WaitRollout(t, c, r, 3*time.Minute, "Completed and Healthy", func(got *v1alpha1.StatefulSetRollout) bool {
		st := got.Status.Replication
		return got.Status.Phase == v1alpha1.PhaseCompleted && st != nil && e2eutil.Healthy(st) && e2eutil.NewPods(st, booted)
	}).Status.Replication

	var switchovers []string
	for _, pod := range []string{"kv-0", "kv-1", "kv-2"} {
		for _, line := range hookLines(t, ns, pod, "switchover", start) {
			switchovers = append(switchovers, pod+" "+line)
		}
		if seeds := hookLines(t, ns, pod, "seed", start); len(seeds) > 0 {
			t.Errorf("%s was seeded during the rollout (a recovery): %v", pod, seeds)
		}
	}
	if len(switchovers) != 1 {
		t.Fatalf("%d switchovers during the rollout, want 1: %v; %s", len(switchovers), switchovers, describe(done))
	}
	promoted, _, _ := strings.Cut(switchovers[0], " ")
	if promoted == "kv-0" || e2eutil.Primary(done) != promoted {
		t.Fatalf("switched over to %s, status says primary %s: %s", promoted, e2eutil.Primary(done), describe(done))
	}
	if !strings.Contains(switchovers[0], "kv-0.kv."+ns+".svc") {
		t.Errorf("the switchover hook was not given the old primary's address: %s", switchovers[0])
	}
	// The old primary was stopped only after the switchover, and rejoined
	// as a secondary of the new primary.
	stops := hookLines(t, ns, "kv-0", "stop", start)
	if len(stops) != 1 || stops[0] < strings.SplitN(switchovers[0], " ", 2)[1] {
		t.Errorf("kv-0 stopped %v, want once after the switchover %s; its hooks: %v", stops, switchovers[0], hookLines(t, ns, "kv-0", "", start))
	}
	address := promoted + ".kv." + ns + ".svc"
	if joins := hookLines(t, ns, "kv-0", "secondary "+address, start); len(joins) == 0 {
		t.Errorf("kv-0 did not rejoin as a secondary of %s: %v", address, hookLines(t, ns, "kv-0", "", start))
	}
}
