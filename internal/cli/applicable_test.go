package cli

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
)

// revisionsOf is a StatefulSet rolling out update and its history, kv-1
// up to kv-n.
func revisionsOf(update string, n int) (*appsv1.StatefulSet, []appsv1.ControllerRevision) {
	sts := &appsv1.StatefulSet{Status: appsv1.StatefulSetStatus{UpdateRevision: update}}
	var revisions []appsv1.ControllerRevision
	for i := 1; i <= n; i++ {
		revisions = append(revisions, appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{Name: "kv-" + string(rune('0'+i))}, Revision: int64(i),
		})
	}
	return sts, revisions
}

// Which actions apply is one rule, read by the verbs and the dashboard's
// buttons alike: each row is a rollout as the operator leaves it and the
// actions that rule lets through.
func TestApplicable(t *testing.T) {
	twoRevisions := func(r *v1alpha1.StatefulSetRollout) standing {
		sts, revisions := revisionsOf("kv-2", 2)
		return standing{rollout: r, statefulSet: sts, revisions: revisions}
	}
	oneRevision := func(r *v1alpha1.StatefulSetRollout) standing {
		sts, revisions := revisionsOf("kv-1", 1)
		return standing{rollout: r, statefulSet: sts, revisions: revisions}
	}
	outdated := rolloutIn(v1alpha1.PhaseCompleted, 3, "")
	outdated.Generation = 3
	outdated.Status.ObservedGeneration = 2
	for _, tc := range []struct {
		name  string
		world standing
		want  string
	}{
		{"progressing in a percent step", twoRevisions(rolloutIn(v1alpha1.PhaseProgressing, 0, "")), "pause promote promote-full abort undo"},
		{"paused at a pause step", twoRevisions(rolloutIn(v1alpha1.PhasePaused, 1, "")), "pause promote promote-full abort undo"},
		{"paused by spec.paused", twoRevisions(pausedBySpec(rolloutIn(v1alpha1.PhasePaused, 0, ""))), "resume promote promote-full abort undo"},
		{"past the last step", twoRevisions(rolloutIn(v1alpha1.PhaseProgressing, 3, "")), "pause promote-full abort undo"},
		{"completed", twoRevisions(rolloutIn(v1alpha1.PhaseCompleted, 3, "")), "pause undo"},
		{"completed, the first revision", oneRevision(rolloutIn(v1alpha1.PhaseCompleted, 3, "")), "pause"},
		{"degraded", twoRevisions(rolloutIn(v1alpha1.PhaseDegraded, 0, "")), "pause abort retry undo"},
		{"rolled back", twoRevisions(rolloutIn(v1alpha1.PhaseDegraded, 0, plan.RollbackDeadlineExceeded)), "pause retry undo"},
		{"rolling back", twoRevisions(rolloutIn(v1alpha1.PhaseRollingBack, 1, plan.RollbackAborted)), "pause retry undo"},
		{"aborted", twoRevisions(rolloutIn(v1alpha1.PhaseAborted, 1, plan.RollbackAborted)), "pause retry undo"},
		{"no StatefulSet yet", standing{rollout: rolloutIn(v1alpha1.PhaseProgressing, 0, "")}, "pause promote promote-full abort"},
		// The phase is the previous spec's: the operator decides on the
		// requests, so none is refused; spec.paused and undo are not requests.
		{"spec not observed yet", oneRevision(outdated), "pause promote promote-full abort retry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var applies []string
			for _, a := range tc.world.applicable() {
				err := tc.world.refusal(Action(a.Action))
				if (err == nil) != (a.Refusal == "") || (err != nil && err.Error() != a.Refusal) {
					t.Errorf("%s: applicable says %q, refusal says %v", a.Action, a.Refusal, err)
				}
				if a.Refusal == "" {
					applies = append(applies, a.Action)
				}
			}
			if got := strings.Join(applies, " "); got != tc.want {
				t.Errorf("applicable: %s, want %s", got, tc.want)
			}
		})
	}
}

// The refusals name the reason the way the verbs print it.
func TestApplicableSaysWhyNot(t *testing.T) {
	sts, revisions := revisionsOf("kv-1", 1)
	w := standing{rollout: rolloutIn(v1alpha1.PhaseCompleted, 3, ""), statefulSet: sts, revisions: revisions}
	want := map[string]string{
		"resume":       "statefulsetrollout.sroll.dev/kv is not paused",
		"promote":      "kv is Completed: there is nothing to promote; change the image to start a rollout",
		"promote-full": "kv is Completed: there is nothing to promote; change the image to start a rollout",
		"abort":        "kv is Completed: there is nothing to abort; use undo to go back to an older revision",
		"retry":        "kv is Completed: there is nothing to retry; change the image to start a rollout",
		"undo":         "cannot undo kv: no previous revision in the history",
	}
	for _, a := range w.applicable() {
		if a.Refusal != want[a.Action] {
			t.Errorf("%s: refused with %q, want %q", a.Action, a.Refusal, want[a.Action])
		}
	}
}
