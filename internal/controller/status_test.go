package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestObservedOnlyTellsReportsFromDecisions(t *testing.T) {
	base := v1alpha1.StatefulSetRolloutStatus{
		Phase: v1alpha1.PhaseProgressing, CurrentStepIndex: 0, Partition: 90,
		Replicas: 100, ReadyReplicas: 95, UpdatedReplicas: 10, UpdatedReadyReplicas: 5,
		Message: "step 1: 5 of 100 updated", ProgressedAt: &metav1.Time{Time: time.Unix(100, 0)},
	}
	for _, tc := range []struct {
		name     string
		change   func(*v1alpha1.StatefulSetRolloutStatus)
		observed bool
	}{
		{"nothing", func(*v1alpha1.StatefulSetRolloutStatus) {}, true},
		{"counts, message and partition", func(s *v1alpha1.StatefulSetRolloutStatus) {
			s.ReadyReplicas, s.UpdatedReadyReplicas, s.Partition, s.Message = 96, 6, 89, "step 1: 6 of 100 updated"
			s.Conditions = []metav1.Condition{{Type: "Available", Status: metav1.ConditionTrue}}
		}, true},
		{"a later progress time", func(s *v1alpha1.StatefulSetRolloutStatus) {
			s.ProgressedAt = &metav1.Time{Time: time.Unix(101, 0)}
		}, true},
		{"an earlier progress time", func(s *v1alpha1.StatefulSetRolloutStatus) {
			s.ProgressedAt = &metav1.Time{Time: time.Unix(99, 0)}
		}, false},
		{"a later progress time and a phase", func(s *v1alpha1.StatefulSetRolloutStatus) {
			s.ProgressedAt, s.Phase = &metav1.Time{Time: time.Unix(101, 0)}, v1alpha1.PhasePaused
		}, false},
		{"update revision", func(s *v1alpha1.StatefulSetRolloutStatus) { s.UpdateRevision = "kv-3" }, true},
		{"phase", func(s *v1alpha1.StatefulSetRolloutStatus) { s.Phase = v1alpha1.PhaseCompleted }, false},
		{"step", func(s *v1alpha1.StatefulSetRolloutStatus) { s.CurrentStepIndex = 1 }, false},
		{"stable revision", func(s *v1alpha1.StatefulSetRolloutStatus) { s.StableRevision = "kv-2" }, false},
	} {
		want := *base.DeepCopy()
		tc.change(&want)
		if got := observedOnly(base, want); got != tc.observed {
			t.Errorf("%s: observedOnly = %v, want %v", tc.name, got, tc.observed)
		}
	}
}

func TestStatusWritesTakeTurns(t *testing.T) {
	var s statusWrites
	start := time.Unix(1000, 0)
	a, b, c := types.NamespacedName{Name: "a"}, types.NamespacedName{Name: "b"}, types.NamespacedName{Name: "c"}
	if got := s.wait(a, start); got != 0 {
		t.Fatalf("a first deferred write waits %v, want 0", got)
	}
	s.committed(a, start, true)
	if got := s.wait(b, start); got != statusSpacing {
		t.Errorf("b, asking right after a's turn, waits %v, want %v", got, statusSpacing)
	}
	if got := s.wait(c, start); got != 2*statusSpacing {
		t.Errorf("c, asking after b, waits %v, want %v", got, 2*statusSpacing)
	}
	if got := s.wait(b, start.Add(statusSpacing/2)); got != statusSpacing/2 {
		t.Errorf("b, asking again half-way, waits %v, want the rest of its turn %v", got, statusSpacing/2)
	}
	if got := s.wait(a, start.Add(statusSpacing)); got != statusInterval-statusSpacing {
		t.Errorf("a, written a moment ago, waits %v, want the rest of statusInterval %v", got, statusInterval-statusSpacing)
	}
	s.committed(c, start.Add(2*statusSpacing), false)
	if got := s.wait(c, start.Add(2*statusSpacing)); got != 0 {
		t.Errorf("c, whose turn passed unwritten, waits %v for a new one, want 0: the slot is free", got)
	}
	if got := s.wait(a, start.Add(statusSpacing)); got != statusInterval-statusSpacing {
		t.Errorf("a, asking again, waits %v, want its turn kept", got)
	}
	d := types.NamespacedName{Name: "d"}
	if got := s.wait(d, start.Add(statusInterval)); got != statusSpacing {
		t.Errorf("d, asking at a's turn, waits %v, want the next free slot %v later", got, statusSpacing)
	}
}
