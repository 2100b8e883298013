package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// The hooks of the replication e2e: shell scripts in each pod's directory
// (the local cluster's exec runs there, and it outlives the pod like a
// volume). Each appends "<nanoseconds> <hook> <args>" to its hooks.log;
// the copy's sequence is the file seq; the file fail-sequence breaks the
// sequence hook.
const (
	seqHook    = `test -f fail-sequence && { echo "disk unreadable" >&2; exit 3; }; cat seq 2>/dev/null || echo 0`
	seedHook   = `echo "$(date +%s%N) seed" >> hooks.log; echo primary > app`
	joinHook   = `echo "$(date +%s%N) join $*" >> hooks.log; echo member > app`
	stopHook   = `echo "$(date +%s%N) stop" >> hooks.log; rm -f app`
	statusHook = `test -f app`
)

// A lights-out with the newest copy on a middle ordinal: the seed hook runs
// there first and the others join it. Then a member whose sequence hook
// fails blocks the next recovery under quorum All, named in status, until
// it answers.
func TestLightsOutSeedsTheNewestCopy(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	r := e2eutil.NewRollout(ns, "kv", 3, intstr.FromInt32(1))
	r.Spec.Replication = e2eutil.ShellReplication(seqHook, seedHook, joinHook, stopHook, statusHook)
	second, timeout := int32(1), int32(5)
	r.Spec.Replication.Hooks.Status.PeriodSeconds = &second
	r.Spec.Replication.Recovery.TimeoutSeconds = &timeout
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	booted := waitReplication(t, c, r, "Healthy after bootstrap", func(st *v1alpha1.ReplicationStatus) bool {
		return e2eutil.Healthy(st)
	})

	for pod, seq := range map[string]int{"kv-0": 10, "kv-1": 50, "kv-2": 30} {
		e2eutil.PodShell(t, ns, pod, fmt.Sprintf("echo %d > seq", seq))
	}
	lightsOut := time.Now()
	deletePods(t, ns, r.Name)
	healthy := waitReplication(t, c, r, "Healthy after the lights-out", func(st *v1alpha1.ReplicationStatus) bool {
		return e2eutil.Healthy(st) && e2eutil.NewPods(st, booted)
	})
	if healthy.Seed != "kv-1" {
		t.Fatalf("seeded %s, want kv-1 (the newest copy): %s; kv-1 hooks: %s", healthy.Seed, describeMembers(healthy), e2eutil.PodShell(t, ns, "kv-1", "pwd; cat seq; cat hooks.log"))
	}
	seeded := hookTimes(t, ns, "kv-1", "seed", lightsOut)
	if len(seeded) != 1 {
		t.Fatalf("the seed hook ran %d times on kv-1 after the lights-out, want once", len(seeded))
	}
	address := "kv-1.kv." + ns + ".svc"
	for _, pod := range []string{"kv-0", "kv-2"} {
		joins := hookTimes(t, ns, pod, "join "+address, lightsOut)
		if len(joins) == 0 {
			t.Fatalf("%s was not joined with %s: %s", pod, address, e2eutil.PodShell(t, ns, pod, "cat hooks.log"))
		}
		if joins[0] < seeded[0] {
			t.Fatalf("%s joined before kv-1 was seeded", pod)
		}
		if seeds := hookTimes(t, ns, pod, "seed", lightsOut); len(seeds) > 0 {
			t.Fatalf("%s was seeded too", pod)
		}
	}

	e2eutil.PodShell(t, ns, "kv-2", "touch fail-sequence; echo 99 > seq")
	secondOutage := time.Now()
	deletePods(t, ns, r.Name)
	blocked := waitReplication(t, c, r, "Degraded naming kv-2", func(st *v1alpha1.ReplicationStatus) bool {
		return e2eutil.NewPods(st, healthy) && st.Phase == v1alpha1.ReplicationDegraded && strings.Contains(st.Message, "no sequence from kv-2 (sequence hook failed: exit code 3: disk unreadable)")
	})
	if blocked.Seed != "" {
		t.Fatalf("seeded %s without kv-2's answer under quorum All", blocked.Seed)
	}
	for _, pod := range []string{"kv-0", "kv-1", "kv-2"} {
		if seeds := hookTimes(t, ns, pod, "seed", secondOutage); len(seeds) > 0 {
			t.Fatalf("%s was seeded without quorum", pod)
		}
	}
	e2eutil.PodShell(t, ns, "kv-2", "rm fail-sequence")
	healed := waitReplication(t, c, r, "Healthy once kv-2 answers", func(st *v1alpha1.ReplicationStatus) bool {
		return e2eutil.Healthy(st) && e2eutil.NewPods(st, healthy)
	})
	if healed.Seed != "kv-2" {
		t.Fatalf("seeded %s, want kv-2 (it holds 99 now)", healed.Seed)
	}
}

func waitReplication(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, what string, done func(*v1alpha1.ReplicationStatus) bool) *v1alpha1.ReplicationStatus {
	t.Helper()
	return e2eutil.WaitReplication(t, c, r, 2*time.Minute, what, done)
}

func deletePods(t *testing.T, ns, app string) {
	t.Helper()
	if _, err := clustertest.Kubectl(t, "-n", ns, "delete", "pods", "-l", "app="+app, "--wait=false"); err != nil {
		t.Fatal(err)
	}
}

// hookTimes are the times (ns since the epoch) a pod's hooks.log records
// lines starting with entry, after since.
func hookTimes(t *testing.T, ns, pod, entry string, since time.Time) []int64 {
	t.Helper()
	var times []int64
	for _, line := range strings.Split(e2eutil.PodShell(t, ns, pod, "cat hooks.log"), "\n") {
		at, rest, ok := strings.Cut(line, " ")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || n < since.UnixNano() || !strings.HasPrefix(rest, entry) {
			continue
		}
		times = append(times, n)
	}
	return times
}

func describeMembers(st *v1alpha1.ReplicationStatus) string {
	var parts []string
	for _, m := range st.Members {
		seq := "?"
		if m.Sequence != nil {
			seq = strconv.FormatInt(*m.Sequence, 10)
		}
		parts = append(parts, fmt.Sprintf("%s %s %s seq=%s %s", m.Name, m.Role, m.State, seq, m.LastError))
	}
	return st.Message + ": " + strings.Join(parts, "; ")
}
