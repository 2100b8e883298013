package cli

import (
	"testing"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestUndoAndHistory(t *testing.T) {
	ns, c := clusterTest(t, true)
	create(t, c, newRollout(ns, "kv"))
	first := waitFor(t, c, ns, "kv", "Completed", settled(v1alpha1.PhaseCompleted)).Status.UpdateRevision
	mustSroll(t, ns, "set", "image", "kv", "kv=registry.example/kv:1.1")
	waitFor(t, c, ns, "kv", "Paused", settled(v1alpha1.PhasePaused))
	mustSroll(t, ns, "promote", "kv")
	second := waitFor(t, c, ns, "kv", "Completed", settled(v1alpha1.PhaseCompleted)).Status.UpdateRevision

	wantRows(t, mustSroll(t, ns, "history", "kv"), "",
		"REVISION NAME IMAGES CURRENT",
		"1 "+first+" registry.example/kv:1.0",
		"2 "+second+" registry.example/kv:1.1 stable, update")

	sroll(t, ns, "undo", "kv", "--to-revision", "7").wantFailure(t, exitFailed,
		"cannot undo kv: revision 7 is not in the history (kubectl sroll history lists it)")
	sroll(t, ns, "undo", "kv", "--to-revision", "2").wantFailure(t, exitFailed,
		"kv already rolls out revision 2 ("+second+"): there is nothing to undo")

	if out := mustSroll(t, ns, "undo", "kv"); out != "statefulsetrollout.sroll.dev/kv undo to revision 1 ("+first+") requested\n" {
		t.Errorf("undo said %q", out)
	}
	waitFor(t, c, ns, "kv", "back on kv:1.0, at the pause step", func(r *v1alpha1.StatefulSetRollout) bool {
		return r.Spec.Template.Spec.Containers[0].Image == "registry.example/kv:1.0" && settled(v1alpha1.PhasePaused)(r)
	})
	mustSroll(t, ns, "promote", "kv")
	waitFor(t, c, ns, "kv", "Completed", settled(v1alpha1.PhaseCompleted))
	// The StatefulSet controller gives a revision it goes back to the next number.
	wantRows(t, mustSroll(t, ns, "history", "kv"), "",
		"REVISION NAME IMAGES CURRENT",
		"2 "+second+" registry.example/kv:1.1",
		"3 "+first+" registry.example/kv:1.0 stable, update")
}
