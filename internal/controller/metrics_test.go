package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestMetricsFollowStatusAndForget(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	rollout := newRollout("kv", 3, "kv:v1")
	started := time.Unix(1000, 0)
	rollout.Status = v1alpha1.StatefulSetRolloutStatus{
		Phase: v1alpha1.PhaseCompleted, CurrentStepIndex: 2, UpdatedReplicas: 3,
		StartedAt: &metav1.Time{Time: started},
	}
	// Creating the first pods is not timed.
	m.observe(rollout, &v1alpha1.StatefulSetRolloutStatus{Phase: v1alpha1.PhaseProgressing}, started.Add(time.Second))
	rollout.Status.StableRevision = "kv-1"
	// Moving past step 1, started at 30s, times it too.
	m.observe(rollout, &v1alpha1.StatefulSetRolloutStatus{Phase: v1alpha1.PhaseProgressing, CurrentStepIndex: 1,
		StepStartedAt: &metav1.Time{Time: started.Add(30 * time.Second)}}, started.Add(90*time.Second))
	m.podsDeleted(rollout, 3)
	// A later no-op reconcile must not time the rollout again.
	m.observe(rollout, rollout.Status.DeepCopy(), started.Add(time.Hour))

	want := `
# HELP sroll_rollout_phase Phase of the rollout: 1 for the current phase, 0 for the others.
# TYPE sroll_rollout_phase gauge
sroll_rollout_phase{namespace="default",phase="Aborted",rollout="kv"} 0
sroll_rollout_phase{namespace="default",phase="Completed",rollout="kv"} 1
sroll_rollout_phase{namespace="default",phase="Degraded",rollout="kv"} 0
sroll_rollout_phase{namespace="default",phase="Paused",rollout="kv"} 0
sroll_rollout_phase{namespace="default",phase="Progressing",rollout="kv"} 0
sroll_rollout_phase{namespace="default",phase="RollingBack",rollout="kv"} 0
# HELP sroll_rollout_step Index of the step the rollout works on; the number of steps once all are done.
# TYPE sroll_rollout_step gauge
sroll_rollout_step{namespace="default",rollout="kv"} 2
# HELP sroll_rollout_updated_pods Pods running the revision the rollout moves to.
# TYPE sroll_rollout_updated_pods gauge
sroll_rollout_updated_pods{namespace="default",rollout="kv"} 3
# HELP sroll_pods_deleted_total Pods the operator deleted to move them to another revision.
# TYPE sroll_pods_deleted_total counter
sroll_pods_deleted_total{namespace="default",rollout="kv"} 3
`
	names := []string{"sroll_rollout_phase", "sroll_rollout_step", "sroll_rollout_updated_pods", "sroll_pods_deleted_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if count, sum := histogram(t, reg, "sroll_rollout_duration_seconds"); count != 1 || sum != 90 {
		t.Errorf("rollout duration: %d observations summing to %vs, want one of 90s", count, sum)
	}
	if count, sum := histogram(t, reg, "sroll_rollout_step_duration_seconds"); count != 1 || sum != 60 {
		t.Errorf("step duration: %d observations summing to %vs, want one of 60s", count, sum)
	}

	m.forget(types.NamespacedName{Namespace: "default", Name: "kv"})
	if n, err := testutil.GatherAndCount(reg, append(names, "sroll_rollout_duration_seconds", "sroll_rollout_step_duration_seconds")...); err != nil || n != 0 {
		t.Errorf("series left after forget: %d (%v)", n, err)
	}
}

// histogram returns the observation count and sum of a one-series histogram.
func histogram(t *testing.T, reg *prometheus.Registry, name string) (uint64, float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range families {
		if family.GetName() == name && len(family.GetMetric()) == 1 {
			h := family.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	return 0, 0
}
