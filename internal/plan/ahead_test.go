package plan_test

import (
	"testing"

	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/plan/plantest"
)

// TestTemplateAheadWaitsForAPodOnAnUnknownRevision: once a new template is
// on the StatefulSet, the first batch goes before that StatefulSet's
// controller observed it (template_ahead.txt), unless a pod runs a revision
// the history does not show: it may be a new pod at the new revision whose
// ControllerRevision the cache has not seen yet, and it must not be taken
// for an outdated one.
func TestTemplateAheadWaitsForAPodOnAnUnknownRevision(t *testing.T) {
	s := plantest.NewSim(t)
	s.Rollout = plantest.NewRollout(4, "v1")
	for range 3 {
		s.Round()
	}
	s.SetImage("v2")
	s.Plan()
	s.Apply() // the new template, not observed: no Sync

	in := s.Input()
	if got := plan.Decide(in).Delete; len(got) == 0 {
		t.Fatalf("every pod on a known revision: no deletion planned, want the first batch")
	}
	in.Pods[0].Revision = plantest.RevisionOf("v2")
	if got := plan.Decide(in).Delete; len(got) != 0 {
		t.Errorf("a pod on a revision the history does not show: planned deletions %v, want none until the StatefulSet controller reports", got)
	}
}
