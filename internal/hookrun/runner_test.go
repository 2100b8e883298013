package hookrun

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/replication"
)

// A hook past its timeout is a failure that says so; a second hook on a
// member with one running is refused; the result, which gives the run's
// recovery back, is kept for the next Observe, which then shows the member
// free again.
func TestRunnerTimeoutAndOnePerMember(t *testing.T) {
	exec := func(ctx context.Context, _, _, _ string, _ []string) (Output, error) {
		<-ctx.Done()
		return Output{Stderr: "interrupted"}, ctx.Err()
	}
	r := New(exec, clock.RealClock{}, 1)
	rollout := &v1alpha1.StatefulSetRollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kv"}}
	recovery := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	run := replication.Run{Member: "kv-0", Incarnation: "uid/0", Hook: replication.HookSequence, Timeout: 50 * time.Millisecond, Recovery: recovery}
	if err := r.Go(rollout, "db", run); err != nil {
		t.Fatal(err)
	}
	if err := r.Go(rollout, "db", run); err == nil {
		t.Fatal("a second hook on kv-0 was accepted while one ran")
	}
	<-r.Events()
	results, busy, lastRun := r.Observe(types.NamespacedName{Namespace: "ns", Name: "kv"})
	if len(results) != 1 || !strings.Contains(results[0].Err, "timed out after 50ms") {
		t.Fatalf("results = %+v, want one timed out", results)
	}
	if !results[0].Recovery.Equal(recovery) {
		t.Errorf("result of recovery %v, want the run's %v", results[0].Recovery, recovery)
	}
	if busy["kv-0"] || lastRun["kv-0"].IsZero() {
		t.Fatalf("after the hook: busy=%v lastRun=%v", busy, lastRun)
	}
}

// Output is bounded: the start of stdout, the end of stderr.
func TestOutputIsBounded(t *testing.T) {
	h, tl := &head{limit: 4}, &tail{limit: 4}
	for _, chunk := range []string{"12", "345", "6789"} {
		_, _ = h.Write([]byte(chunk))
		_, _ = tl.Write([]byte(chunk))
	}
	if h.String() != "1234" || tl.String() != "6789" {
		t.Fatalf("head=%q tail=%q, want 1234 and 6789", h.String(), tl.String())
	}
}

// A snapshot set's freeze hook takes its member's slot in the rollout (a
// replication hook there is refused meanwhile), its result is the set's,
// not the rollout's, and the set, not the rollout, is woken.
func TestSetHookResultsAreTheSets(t *testing.T) {
	release := make(chan struct{})
	exec := func(ctx context.Context, _, _, _ string, command []string) (Output, error) {
		<-release
		return Output{Stdout: strings.Join(command, " ")}, nil
	}
	r := New(exec, clock.RealClock{}, 2)
	rollout := &v1alpha1.StatefulSetRollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kv"}}
	set := &v1alpha1.RolloutSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kv-s1"}}
	freeze := replication.Run{Member: "kv-0", Incarnation: "uid/0", Hook: replication.HookFreeze, Command: []string{"freeze"}, Timeout: time.Minute}
	if err := r.GoForSet(set, rollout, "db", freeze); err != nil {
		t.Fatal(err)
	}
	if err := r.Go(rollout, "db", replication.Run{Member: "kv-0", Hook: replication.HookStatus, Timeout: time.Minute}); err == nil {
		t.Fatal("a status hook on kv-0 was accepted while its freeze hook ran")
	}
	setKey := types.NamespacedName{Namespace: "ns", Name: "kv-s1"}
	if _, busy := r.ObserveSet(setKey); !busy["kv-0"] {
		t.Fatalf("busy = %v while the freeze hook runs", busy)
	}
	close(release)
	woken := <-r.Sets.Events()
	if woken.Object.Name != "kv-s1" {
		t.Fatalf("woke %s, want the set kv-s1", woken.Object.Name)
	}
	results, busy := r.ObserveSet(setKey)
	if len(results) != 1 || results[0].Hook != replication.HookFreeze || results[0].Stdout != "freeze" || busy["kv-0"] {
		t.Fatalf("set results = %+v, busy = %v", results, busy)
	}
	if rolloutResults, rolloutBusy, _ := r.Observe(types.NamespacedName{Namespace: "ns", Name: "kv"}); len(rolloutResults) != 0 || rolloutBusy["kv-0"] {
		t.Fatalf("the rollout got results %+v, busy %v", rolloutResults, rolloutBusy)
	}
	select {
	case e := <-r.Events():
		t.Fatalf("the rollout %s was woken for its set's hook", e.Object.Name)
	default:
	}
}
