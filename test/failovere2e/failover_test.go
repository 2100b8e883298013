package failovere2e

import (
	"context"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// The primary's application dies, its pod stays. After failover.afterSeconds
// (not before) the old primary is stopped, the secondary with the highest
// sequence (kv-2) is promoted, kv-1 follows it, and kv-0 rejoins as its
// secondary.
func TestFailoverAfterThePrimaryDies(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	r := replicatedRollout(ns)
	after := int32(5)
	r.Spec.Replication.Failover = &v1alpha1.FailoverSpec{Enabled: true, AfterSeconds: &after}
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitReplication(t, c, r, 2*time.Minute, "Healthy with kv-0 primary", func(st *v1alpha1.ReplicationStatus) bool {
		return healthyWith(st, "kv-0")
	})
	e2eutil.PodShell(t, ns, "kv-1", "echo 70 > seq")
	e2eutil.PodShell(t, ns, "kv-2", "echo 90 > seq")

	killed := time.Now()
	e2eutil.PodShell(t, ns, "kv-0", "rm role")
	st := e2eutil.WaitReplication(t, c, r, 2*time.Minute, "Healthy with kv-2 primary", func(st *v1alpha1.ReplicationStatus) bool {
		return healthyWith(st, "kv-2")
	})
	promoted := hookLines(t, ns, "kv-2", "switchover kv-0.kv."+ns+".svc", killed)
	if len(promoted) != 1 {
		t.Fatalf("kv-2 was promoted %d times: %v; %s", len(promoted), promoted, describe(st))
	}
	if early := killed.Add(time.Duration(after) * time.Second).UTC().Format("15:04:05.000"); promoted[0] < early {
		t.Errorf("promoted at %s, before failover.afterSeconds had passed (%s)", promoted[0], early)
	}
	if stops := hookLines(t, ns, "kv-0", "stop", killed); len(stops) == 0 || stops[0] > promoted[0] {
		t.Errorf("kv-0 was not stopped before the promotion: stops %v, promoted %s", stops, promoted[0])
	}
	address := "kv-2.kv." + ns + ".svc"
	for _, pod := range []string{"kv-0", "kv-1"} {
		if joins := hookLines(t, ns, pod, "secondary "+address, killed); len(joins) == 0 {
			t.Errorf("%s does not follow kv-2: %v", pod, hookLines(t, ns, pod, "", killed))
		}
	}
	for _, pod := range []string{"kv-0", "kv-1"} {
		if promotions := hookLines(t, ns, pod, "switchover", killed); len(promotions) > 0 {
			t.Errorf("%s was promoted too: %v", pod, promotions)
		}
	}
}
