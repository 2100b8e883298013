package cli

import (
	"fmt"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// steps returns the rollout's steps with the API default (one 100% step)
// applied, as the operator walks them.
func steps(r *v1alpha1.StatefulSetRollout) []v1alpha1.RolloutStep {
	if len(r.Spec.Rollout.Steps) == 0 {
		hundred := int32(100)
		return []v1alpha1.RolloutStep{{Percent: &hundred}}
	}
	return r.Spec.Rollout.Steps
}

// stepLabel names a step on the status screen: "25%", "pause", "pause 5m0s".
func stepLabel(s v1alpha1.RolloutStep) string {
	switch {
	case s.Percent != nil:
		return fmt.Sprintf("%d%%", *s.Percent)
	case s.Pause != nil && s.Pause.Duration != nil:
		return "pause " + s.Pause.Duration.Duration.String()
	}
	return "pause"
}

// stepName counts steps as the operator's messages do: "step 2/4 (pause)".
func stepName(r *v1alpha1.StatefulSetRollout) string {
	all := steps(r)
	index := int(r.Status.CurrentStepIndex)
	if index >= len(all) {
		return fmt.Sprintf("the final step (100%%) after %d steps", len(all))
	}
	return fmt.Sprintf("step %d/%d (%s)", index+1, len(all), stepLabel(all[index]))
}

// stepCount is the STEP column of list: the step being worked on out of
// all of them, n/n once the steps are done.
func stepCount(r *v1alpha1.StatefulSetRollout) string {
	all := steps(r)
	return fmt.Sprintf("%d/%d", min(int(r.Status.CurrentStepIndex)+1, len(all)), len(all))
}
