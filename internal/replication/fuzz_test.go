package replication_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/replication"
)

// FuzzInvariants drives three members through random outages, data
// changes, failing and hanging hooks, dying applications, nodes cut off
// and back, a fencer that confirms or refuses, members leaving as a
// rollout's batch would, operator restarts (also between the status write
// and the hooks) and the clock, and checks after every decision the
// safety rules:
//   - never two seeds for one recovery;
//   - never a seed below a reported higher sequence;
//   - never a seed while another member runs as a healthy primary;
//   - never two applications taking writes as primaries at once (the
//     world's, whatever status says: a cut-off primary runs on);
//   - never a node tainted out of service (its pods force-deleted)
//     without the fencer's confirmation;
//   - never a hook run on a NotReady node.
func FuzzInvariants(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte{9, 9, 9, 9, 1, 9, 9, 9, 9, 5, 9, 9, 9, 3, 9, 9, 0, 9, 9, 9})
	f.Add([]byte{4, 9, 8, 9, 9, 2, 9, 9, 7, 9, 9, 9, 6, 9, 9, 1, 9, 9})
	f.Add([]byte{14, 15, 15, 15, 9, 15, 15, 24, 15, 24, 15, 24, 15, 24, 15, 15, 15})
	f.Add([]byte{6, 15, 15, 15, 10, 24, 24, 24, 24, 24, 12, 24, 24, 24, 24, 24, 24, 11, 15, 15})
	f.Add([]byte{2, 15, 15, 15, 13, 15, 15, 15, 15, 15, 15, 15, 15})
	f.Fuzz(func(t *testing.T, ops []byte) {
		const replicas = 3
		w := newWorld()
		spec := hookSpec()
		if len(ops) > 0 {
			if ops[0]&1 == 1 {
				spec.Recovery.Quorum = v1alpha1.QuorumMajority
			}
			if ops[0]&2 == 2 {
				switchover := hook("switchover")
				spec.Hooks.Switchover = &switchover
			}
			if ops[0]&4 == 4 {
				after := int32(10)
				spec.Failover = &v1alpha1.FailoverSpec{Enabled: true, AfterSeconds: &after}
			}
			if ops[0]&8 == 8 {
				after := int32(20)
				spec.Fencing = &v1alpha1.FencingSpec{AfterSeconds: &after, Webhook: &v1alpha1.WebhookEndpoint{URL: "https://fencer.example"}}
				if ops[0]&16 == 16 {
					fence := hook("fence")
					spec.Fencing.Webhook, spec.Hooks.Fence = nil, &fence
				}
			}
		}
		incarnation := [replicas]int{}
		leaving := map[string]bool{}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var recovery string
		seedOf := map[string]string{}
		// restart recreates a member's pod, unless its node is cut off:
		// a pod there is never replaced until it is force-deleted.
		restart := func(o int) {
			if name := fmt.Sprintf("kv-%d", o); w.nodeReady(w.node(name)) {
				incarnation[o]++
				delete(leaving, name)
			}
		}
		for i, op := range ops {
			name := fmt.Sprintf("kv-%d", int(op>>4)%replicas)
			ordinal := int(op>>4) % replicas
			crash := false
			switch op % 16 {
			case 0: // lights-out
				for o := range incarnation {
					restart(o)
				}
			case 1:
				restart(ordinal)
			case 2:
				w.data[name] = int64(op) + int64(i)
			case 3:
				w.failing[name] = map[replication.HookKind]bool{replication.HookKind(1 + int(op>>4)%6): true}
			case 4:
				delete(w.failing, name)
			case 5:
				if w.hanging[name] {
					// What it answers comes late, maybe in another recovery.
					w.finish(name, now)
				} else {
					w.hanging[name] = true
				}
			case 6:
				w.restartOperator()
			case 7:
				crash = true
			case 8:
				now = now.Add(time.Duration(op) * time.Second)
			case 9:
				delete(w.app, name)
			case 10:
				w.setNode(w.node(name), false, now)
			case 11:
				w.setNode(w.node(name), true, now)
			case 12:
				w.refuseFencing = !w.refuseFencing
			case 13:
				leaving[name] = !leaving[name]
			default:
				now = now.Add(5 * time.Second)
			}
			members := make([]replication.Member, replicas)
			incarnations := map[string]string{}
			for o := range replicas {
				m := replication.Member{
					Name: fmt.Sprintf("kv-%d", o), Ordinal: int32(o), Running: true,
					Incarnation: fmt.Sprintf("uid-%d-%d", o, incarnation[o]),
				}
				m.Node, m.Updated = w.node(m.Name), incarnation[o]%2 == 1
				members[o] = m
				incarnations[m.Name] = m.Incarnation
			}
			healthyPrimaries := map[string]bool{}
			for _, m := range members {
				if a, ok := w.running(m.Name, m.Incarnation); ok && a.role == "primary" {
					healthyPrimaries[m.Name] = true
				}
			}
			d := w.decide(replication.Input{
				Spec: spec, Set: "kv", Namespace: "ns", Service: "kv", Replicas: replicas,
				Members: members, Leaving: leaving, Nodes: w.observedNodes(), Now: now,
			}, crash)
			if primaries := w.primaries(incarnations); len(primaries) > 1 {
				t.Fatalf("op %d: %v take writes as primaries at once", i, primaries)
			}
			now = now.Add(time.Second)
			st := d.Status
			if st.RecoveryStartedAt != nil {
				recovery = st.RecoveryStartedAt.String()
			}
			for _, run := range d.Run {
				if run.Hook != replication.HookSeed || st.RecoveryStartedAt == nil {
					continue
				}
				if previous, ok := seedOf[recovery]; ok && previous != run.Member {
					t.Fatalf("op %d: recovery %s seeds %s after %s", i, recovery, run.Member, previous)
				}
				seedOf[recovery] = run.Member
				for name := range healthyPrimaries {
					if name != run.Member {
						t.Fatalf("op %d: seeds %s while %s runs as a healthy primary", i, run.Member, name)
					}
				}
				seed := memberOf(st, run.Member)
				for _, m := range st.Members {
					if m.Sequence != nil && (seed.Sequence == nil || *m.Sequence > *seed.Sequence) {
						t.Fatalf("op %d: seeds %s below %s's sequence %d", i, run.Member, m.Name, *m.Sequence)
					}
				}
			}
			if crash {
				continue
			}
			forced, err := w.taint(d)
			if err != nil {
				t.Fatalf("op %d: %v", i, err)
			}
			for _, name := range forced {
				incarnation[int(name[len(name)-1]-'0')]++
			}
			// A leaving member whose application is stopped goes, as the
			// planner would delete its pod.
			for _, name := range slices.Sorted(maps.Keys(d.Stopped)) {
				if leaving[name] {
					restart(int(name[len(name)-1] - '0'))
				}
			}
		}
	})
}

func memberOf(st v1alpha1.ReplicationStatus, name string) v1alpha1.ReplicationMember {
	for _, m := range st.Members {
		if m.Name == name {
			return m
		}
	}
	return v1alpha1.ReplicationMember{}
}
