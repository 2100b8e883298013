package cli

import (
	"testing"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestPauseResume(t *testing.T) {
	ns, c := clusterTest(t, true)
	create(t, c, newRollout(ns, "kv"))
	waitFor(t, c, ns, "kv", "Completed", settled(v1alpha1.PhaseCompleted))

	if out := mustSroll(t, ns, "pause", "kv"); out != "statefulsetrollout.sroll.dev/kv paused\n" {
		t.Errorf("pause said %q", out)
	}
	waitFor(t, c, ns, "kv", "Paused by spec.paused", func(r *v1alpha1.StatefulSetRollout) bool {
		return r.Spec.Paused && settled(v1alpha1.PhasePaused)(r)
	})
	sroll(t, ns, "pause", "kv").wantFailure(t, exitFailed, "statefulsetrollout.sroll.dev/kv is already paused")

	if out := mustSroll(t, ns, "resume", "kv"); out != "statefulsetrollout.sroll.dev/kv resumed\n" {
		t.Errorf("resume said %q", out)
	}
	waitFor(t, c, ns, "kv", "Completed again", func(r *v1alpha1.StatefulSetRollout) bool {
		return !r.Spec.Paused && settled(v1alpha1.PhaseCompleted)(r)
	})
	sroll(t, ns, "resume", "kv").wantFailure(t, exitFailed, "statefulsetrollout.sroll.dev/kv is not paused")
}

func TestPromote(t *testing.T) {
	ns, c := clusterTest(t, true)
	create(t, c, newRollout(ns, "kv"))
	waitFor(t, c, ns, "kv", "Completed", settled(v1alpha1.PhaseCompleted))
	sroll(t, ns, "promote", "kv").wantFailure(t, exitFailed,
		"kv is Completed: there is nothing to promote; change the image to start a rollout")

	mustSroll(t, ns, "set", "image", "kv", "kv=registry.example/kv:1.1")
	waitFor(t, c, ns, "kv", "Paused", settled(v1alpha1.PhasePaused))
	sroll(t, ns, "resume", "kv").wantFailure(t, exitFailed,
		"kv is not paused by spec.paused: it waits in step 2/3 (pause); use promote to go on")
	if out := mustSroll(t, ns, "promote", "kv"); out != "statefulsetrollout.sroll.dev/kv promote requested\n" {
		t.Errorf("promote said %q", out)
	}
	waitFor(t, c, ns, "kv", "Completed", settled(v1alpha1.PhaseCompleted))

	// --full skips the pause as well as the steps after it.
	mustSroll(t, ns, "set", "image", "kv", "kv=registry.example/kv:1.2")
	waitFor(t, c, ns, "kv", "Paused", settled(v1alpha1.PhasePaused))
	if out := mustSroll(t, ns, "promote", "kv", "--full"); out != "statefulsetrollout.sroll.dev/kv full promote requested\n" {
		t.Errorf("promote --full said %q", out)
	}
	waitFor(t, c, ns, "kv", "Completed", settled(v1alpha1.PhaseCompleted))
}

func TestAbortRetry(t *testing.T) {
	ns, c := clusterTest(t, true)
	create(t, c, newRollout(ns, "kv"))
	waitFor(t, c, ns, "kv", "Completed", settled(v1alpha1.PhaseCompleted))
	sroll(t, ns, "abort", "kv").wantFailure(t, exitFailed,
		"kv is Completed: there is nothing to abort; use undo to go back to an older revision")
	sroll(t, ns, "retry", "kv").wantFailure(t, exitFailed,
		"kv is Completed: there is nothing to retry; change the image to start a rollout")

	mustSroll(t, ns, "set", "image", "kv", "kv=registry.example/kv:1.1")
	waitFor(t, c, ns, "kv", "Paused", settled(v1alpha1.PhasePaused))
	sroll(t, ns, "retry", "kv").wantFailure(t, exitFailed,
		"retry needs a Degraded or Aborted rollout; kv is Paused in step 2/3 (pause): use promote to go on")

	if out := mustSroll(t, ns, "abort", "kv"); out != "statefulsetrollout.sroll.dev/kv abort requested\n" {
		t.Errorf("abort said %q", out)
	}
	aborted := waitFor(t, c, ns, "kv", "Aborted", settled(v1alpha1.PhaseAborted))
	sroll(t, ns, "promote", "kv").wantFailure(t, exitFailed,
		"promote needs a Progressing or Paused rollout; kv is Aborted: it was rolled back to "+aborted.Status.StableRevision+"; use retry, or change the image")
	sroll(t, ns, "abort", "kv").wantFailure(t, exitFailed,
		"abort needs a rollout moving forward; kv is Aborted: it was rolled back to "+aborted.Status.StableRevision+"; use retry, or change the image")

	if out := mustSroll(t, ns, "retry", "kv"); out != "statefulsetrollout.sroll.dev/kv retry requested\n" {
		t.Errorf("retry said %q", out)
	}
	waitFor(t, c, ns, "kv", "Paused at the pause step again", func(r *v1alpha1.StatefulSetRollout) bool {
		return settled(v1alpha1.PhasePaused)(r) && r.Status.CurrentStepIndex == 1
	})
}
