package plan

import (
	"testing"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestStepName(t *testing.T) {
	percent := func(n int32) v1alpha1.RolloutStep { return v1alpha1.RolloutStep{Percent: &n} }
	pause := v1alpha1.RolloutStep{Pause: &v1alpha1.PauseStep{}}
	three := []v1alpha1.RolloutStep{percent(10), pause, percent(100)}
	one := []v1alpha1.RolloutStep{percent(100)}
	for _, tt := range []struct {
		steps []v1alpha1.RolloutStep
		index int32
		want  string
	}{
		{three, 0, "step 1/3 (10%)"},
		{three, 1, "step 2/3 (pause)"},
		{three, 3, "final step (100%) after 3 steps"},
		{one, 0, "step 1/1 (100%)"},
		{one, 1, "final step (100%) after 1 step"},
	} {
		if got := StepName(tt.steps, tt.index); got != tt.want {
			t.Errorf("StepName(%d steps, %d) = %q, want %q", len(tt.steps), tt.index, got, tt.want)
		}
	}
}
