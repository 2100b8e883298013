package cli

import (
	"fmt"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
)

func steps(r *v1alpha1.StatefulSetRollout) []v1alpha1.RolloutStep {
	return r.Spec.Rollout.StepsOrDefault()
}

func stepName(r *v1alpha1.StatefulSetRollout) string {
	return plan.StepName(steps(r), r.Status.CurrentStepIndex)
}

// stepCount is the STEP column of list: the step being worked on out of
// all of them, n/n once the steps are done.
func stepCount(r *v1alpha1.StatefulSetRollout) string {
	all := steps(r)
	return fmt.Sprintf("%d/%d", min(int(r.Status.CurrentStepIndex)+1, len(all)), len(all))
}
