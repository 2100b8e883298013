package plan_test

import (
	"testing"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/plan/plantest"
)

// BenchmarkDecide1000Pods is one reconcile's decision for a 1000-pod
// rollout in mid-wave, the planner's share of the operator's CPU (a
// reconcile follows nearly every pod event, about once per pod per wave).
func BenchmarkDecide1000Pods(b *testing.B) {
	s := plantest.NewSim(b)
	s.Rollout = plantest.NewRollout(1000, "v1")
	for range 10 {
		s.Round()
	}
	if s.Rollout.Status.Phase != v1alpha1.PhaseCompleted {
		b.Fatalf("the first release did not complete: %s", s.Rollout.Status.Message)
	}
	s.SetImage("v2")
	for range 3 {
		s.Step()
	}
	in := s.Input()
	if p := plan.Decide(in); p.Status.Phase != v1alpha1.PhaseProgressing {
		b.Fatalf("not mid-wave: %s", p.Status.Message)
	}
	b.ReportAllocs()
	for b.Loop() {
		plan.Decide(in)
	}
}
