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
