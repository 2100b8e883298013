package cli

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
)

// rolloutIn is kv (steps 50%, pause, 100%) as the operator leaves it in a phase.
func rolloutIn(phase v1alpha1.Phase, step int32, rollbackReason string) *v1alpha1.StatefulSetRollout {
	r := newRollout("default", "kv")
	r.Status = v1alpha1.StatefulSetRolloutStatus{
		Phase:            phase,
		CurrentStepIndex: step,
		RollbackReason:   rollbackReason,
		StableRevision:   "kv-1",
		UpdateRevision:   "kv-2",
	}
	return r
}

func pausedBySpec(r *v1alpha1.StatefulSetRollout) *v1alpha1.StatefulSetRollout {
	r.Spec.Paused = true
	return r
}

// The checks refuse exactly what the planner ignores
// (internal/plan/actions.go) and say what would work instead.
func TestPhaseChecks(t *testing.T) {
	var (
		progressing  = rolloutIn(v1alpha1.PhaseProgressing, 0, "")
		pauseStep    = rolloutIn(v1alpha1.PhasePaused, 1, "")
		lastStep     = rolloutIn(v1alpha1.PhaseProgressing, 3, "")
		completed    = rolloutIn(v1alpha1.PhaseCompleted, 3, "")
		degraded     = rolloutIn(v1alpha1.PhaseDegraded, 0, "")
		rollingBack  = rolloutIn(v1alpha1.PhaseRollingBack, 1, plan.RollbackAborted)
		aborted      = rolloutIn(v1alpha1.PhaseAborted, 1, plan.RollbackAborted)
		rolledBack   = rolloutIn(v1alpha1.PhaseDegraded, 0, plan.RollbackDeadlineExceeded)
		specPaused   = pausedBySpec(rolloutIn(v1alpha1.PhasePaused, 0, ""))
		firstRollout = rolloutIn(v1alpha1.PhaseProgressing, 0, "")
	)
	firstRollout.Status.StableRevision = ""
	promote := func(r *v1alpha1.StatefulSetRollout) error { return checkPromote(r, false) }
	promoteFull := func(r *v1alpha1.StatefulSetRollout) error { return checkPromote(r, true) }
	for _, tc := range []struct {
		name    string
		check   func(*v1alpha1.StatefulSetRollout) error
		rollout *v1alpha1.StatefulSetRollout
		want    string
	}{
		{"promote progressing", promote, progressing, ""},
		{"promote pause step", promote, pauseStep, ""},
		{"promote spec.paused", promote, specPaused, ""},
		{"promote completed", promote, completed, "kv is Completed: there is nothing to promote; change the image to start a rollout"},
		{"promote degraded", promote, degraded, "promote needs a Progressing or Paused rollout; kv is Degraded: use retry or abort"},
		{"promote rolled back", promote, rolledBack, "promote needs a Progressing or Paused rollout; kv is Degraded: it was rolled back to kv-1; use retry, or change the image"},
		{"promote aborted", promote, aborted, "promote needs a Progressing or Paused rollout; kv is Aborted: it was rolled back to kv-1; use retry, or change the image"},
		{"promote rolling back", promote, rollingBack, "promote needs a Progressing or Paused rollout; kv is RollingBack: it is rolling back to kv-1; use retry to roll forward again"},
		{"promote last step", promote, lastStep, "kv is past its last step: there is no step left to promote; it completes once every pod is updated"},
		{"promote --full last step", promoteFull, lastStep, ""},
		{"promote --full completed", promoteFull, completed, "kv is Completed: there is nothing to promote; change the image to start a rollout"},

		{"abort progressing", checkAbort, progressing, ""},
		{"abort degraded", checkAbort, degraded, ""},
		{"abort completed", checkAbort, completed, "kv is Completed: there is nothing to abort; use undo to go back to an older revision"},
		{"abort aborted", checkAbort, aborted, "abort needs a rollout moving forward; kv is Aborted: it was rolled back to kv-1; use retry, or change the image"},
		{"abort rolling back", checkAbort, rollingBack, "abort needs a rollout moving forward; kv is RollingBack: it is rolling back to kv-1; use retry to roll forward again"},
		{"abort first rollout", checkAbort, firstRollout, "kv has no stable revision to go back to: no rollout of it has completed yet"},

		{"retry degraded", checkRetry, degraded, ""},
		{"retry aborted", checkRetry, aborted, ""},
		{"retry rolling back", checkRetry, rollingBack, ""},
		{"retry completed", checkRetry, completed, "kv is Completed: there is nothing to retry; change the image to start a rollout"},
		{"retry pause step", checkRetry, pauseStep, "retry needs a Degraded or Aborted rollout; kv is Paused in step 2/3 (pause): use promote to go on"},
		{"retry spec.paused", checkRetry, specPaused, "retry needs a Degraded or Aborted rollout; kv is paused by spec.paused: use resume"},
		{"retry progressing", checkRetry, progressing, "retry needs a Degraded or Aborted rollout; kv is Progressing: it is moving, use abort to stop it"},

		{"pause progressing", checkPause, progressing, ""},
		{"pause paused", checkPause, specPaused, "statefulsetrollout.sroll.dev/kv is already paused"},
		{"resume paused", checkResume, specPaused, ""},
		{"resume pause step", checkResume, pauseStep, "kv is not paused by spec.paused: it waits in step 2/3 (pause); use promote to go on"},
		{"resume progressing", checkResume, progressing, "statefulsetrollout.sroll.dev/kv is not paused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check(tc.rollout)
			if got := errorText(err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	outdated := rolloutIn(v1alpha1.PhaseCompleted, 3, "")
	outdated.Generation = 2
	retried := rolloutIn(v1alpha1.PhaseDegraded, 0, "")
	retried.Annotations = map[string]string{v1alpha1.AnnotationRetry: "now"}
	undone := rolloutIn(v1alpha1.PhaseCompleted, 3, "")
	undone.Annotations = map[string]string{v1alpha1.AnnotationUndo: "previous"}
	handled := rolloutIn(v1alpha1.PhaseCompleted, 3, "")
	handled.Annotations = map[string]string{v1alpha1.AnnotationPromote: "then"}
	handled.Status.HandledActions = map[string]string{v1alpha1.AnnotationPromote: "then"}
	degraded := rolloutIn(v1alpha1.PhaseDegraded, 0, "")
	degraded.Status.Message = "no progress for 10m0s"
	for _, tc := range []struct {
		name        string
		rollout     *v1alpha1.StatefulSetRollout
		untilPaused bool
		done        bool
		code        int
	}{
		{"completed", rolloutIn(v1alpha1.PhaseCompleted, 3, ""), false, true, exitOK},
		{"degraded", degraded, false, true, exitFailed},
		{"aborted", rolloutIn(v1alpha1.PhaseAborted, 1, plan.RollbackAborted), false, true, exitFailed},
		{"paused", rolloutIn(v1alpha1.PhasePaused, 1, ""), false, false, exitOK},
		{"rolling back", rolloutIn(v1alpha1.PhaseRollingBack, 1, plan.RollbackAborted), false, false, exitOK},
		{"spec not observed yet", outdated, false, false, exitOK},
		{"retry not handled yet", retried, false, false, exitOK},
		{"undo not carried out yet", undone, false, false, exitOK},
		{"request handled", handled, false, true, exitOK},
		{"paused, until paused", rolloutIn(v1alpha1.PhasePaused, 1, ""), true, true, exitOK},
		{"progressing, until paused", rolloutIn(v1alpha1.PhaseProgressing, 0, ""), true, false, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done, err := outcome(tc.rollout, tc.untilPaused)
			code := exitOK
			if exit := (*exitError)(nil); errors.As(err, &exit) {
				code = exit.code
			}
			if done != tc.done || code != tc.code {
				t.Errorf("outcome = %v, %v; want done %v, exit code %d", done, err, tc.done, tc.code)
			}
		})
	}
	if _, err := outcome(degraded, false); errorText(err) != "kv is Degraded: no progress for 10m0s" {
		t.Errorf("degraded outcome says %q", errorText(err))
	}
}

// A cluster without the CRD answers with a kind that maps to nothing.
func TestNotInstalled(t *testing.T) {
	c, err := client.New(&rest.Config{Host: "http://127.0.0.1:1"}, client.Options{Scheme: scheme, Mapper: meta.NewDefaultRESTMapper(nil)})
	if err != nil {
		t.Fatal(err)
	}
	s := &session{Client: c, namespace: "default"}
	_, err = s.rollout(t.Context(), "kv")
	if !errors.Is(err, errNotInstalled) {
		t.Errorf("got %v, want %v", err, errNotInstalled)
	}
	var r v1alpha1.StatefulSetRollout
	r.ObjectMeta = metav1.ObjectMeta{Namespace: "default", Name: "kv"}
	if err := s.patch(t.Context(), &r, []byte(`{}`)); !errors.Is(err, errNotInstalled) {
		t.Errorf("patch: got %v, want %v", err, errNotInstalled)
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
