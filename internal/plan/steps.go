package plan

import (
	"fmt"
	"strings"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// StepLabel names a step: "25%", "pause", "pause 5m0s", "analysis error-rate".
func StepLabel(step v1alpha1.RolloutStep) string {
	switch {
	case step.Percent != nil:
		return fmt.Sprintf("%d%%", *step.Percent)
	case step.Pause != nil && step.Pause.Duration != nil:
		return "pause " + step.Pause.Duration.Duration.String()
	case step.Analysis != nil:
		return "analysis " + strings.Join(step.Analysis.Checks, ", ")
	}
	return "pause"
}

// StepName is how people count steps, in messages and in the CLI:
// "step 2/5 (pause)", or the final step once every listed step is done:
// "final step (100%) after 5 steps", "final step (100%) after 1 step".
func StepName(all []v1alpha1.RolloutStep, index int32) string {
	if int(index) >= len(all) {
		return fmt.Sprintf("final step (100%%) after %s", count(len(all), "step"))
	}
	return fmt.Sprintf("step %d/%d (%s)", index+1, len(all), StepLabel(all[index]))
}

// stepGoal is the lowest ordinal that runs the update revision once a step of
// the given percent is complete. Pods are updated from the highest ordinal
// down, and the share rounds up so that every percent step moves a pod:
//
//	replicas=40 percent=25  -> 10 pods updated -> goal 30
//	replicas=10 percent=15  ->  2 pods updated -> goal 8
//	replicas=3  percent=1   ->  1 pod  updated -> goal 2
//	replicas=40 percent=100 -> 40 pods updated -> goal 0
//
// Index len(steps) is the implicit last step that updates every pod.
func stepGoal(allSteps []v1alpha1.RolloutStep, index int32, replicas int32) int32 {
	updated := (int64(replicas)*int64(stepPercent(allSteps, index)) + 99) / 100
	return replicas - int32(updated)
}

// stepPercent is the share a step holds: a pause or analysis step holds the
// share of the percent step before it (none before it: 0).
func stepPercent(allSteps []v1alpha1.RolloutStep, index int32) int32 {
	if int(index) >= len(allSteps) {
		return 100
	}
	for i := index; i >= 0; i-- {
		if p := allSteps[i].Percent; p != nil {
			return *p
		}
	}
	return 0
}

// count says "1 pod", "3 pods": messages are read by people.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
