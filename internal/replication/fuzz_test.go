package replication_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/replication"
)

// FuzzInvariants drives three members through random outages, data
// changes, failing and hanging hooks, operator restarts (also between the
// status write and the hooks) and the clock, and checks after every
// decision the three safety rules of a recovery:
//   - never two seeds for one recovery;
//   - never a seed below a reported higher sequence;
//   - never a seed while another member runs as a healthy primary.
func FuzzInvariants(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte{9, 9, 9, 9, 1, 9, 9, 9, 9, 5, 9, 9, 9, 3, 9, 9, 0, 9, 9, 9})
	f.Add([]byte{4, 9, 8, 9, 9, 2, 9, 9, 7, 9, 9, 9, 6, 9, 9, 1, 9, 9})
	f.Fuzz(func(t *testing.T, ops []byte) {
		const replicas = 3
		w := newWorld()
		spec := hookSpec()
		if len(ops) > 0 && ops[0]%2 == 1 {
			spec.Recovery.Quorum = v1alpha1.QuorumMajority
		}
		incarnation := [replicas]int{}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var recovery string
		seedOf := map[string]string{}
		for i, op := range ops {
			name := fmt.Sprintf("kv-%d", int(op>>4)%replicas)
			ordinal := int(op>>4) % replicas
			crash := false
			switch op % 12 {
			case 0: // lights-out
				for o := range incarnation {
					incarnation[o]++
				}
			case 1:
				incarnation[ordinal]++
			case 2:
				w.data[name] = int64(op) + int64(i)
			case 3:
				w.failing[name] = map[replication.HookKind]bool{replication.HookKind(1 + int(op>>4)%6): true}
			case 4:
				delete(w.failing, name)
			case 5:
				w.hanging[name] = !w.hanging[name]
				if !w.hanging[name] {
					delete(w.busy, name)
				}
			case 6:
				w.restartOperator()
			case 7:
				crash = true
			case 8:
				now = now.Add(time.Duration(op) * time.Second)
			}
			members := make([]replication.Member, replicas)
			for o := range replicas {
				members[o] = replication.Member{
					Name: fmt.Sprintf("kv-%d", o), Ordinal: int32(o), Running: true,
					Incarnation: fmt.Sprintf("uid-%d-%d", o, incarnation[o]),
				}
			}
			healthyPrimaries := map[string]bool{}
			for _, m := range members {
				if a, ok := w.running(m.Name, m.Incarnation); ok && a.role == "primary" {
					healthyPrimaries[m.Name] = true
				}
			}
			d := w.decide(replication.Input{
				Spec: spec, Set: "kv", Namespace: "ns", Service: "kv", Replicas: replicas,
				Members: members, Now: now,
			}, crash)
			now = now.Add(time.Second)
			st := d.Status
			if st.RecoveryStartedAt != nil {
				recovery = st.RecoveryStartedAt.String()
			}
			for _, run := range d.Run {
				if run.Hook != replication.HookSeed {
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
