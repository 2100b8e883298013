package render

// StepState is where a rollout stands with one of its steps.
type StepState string

const (
	StepDone    StepState = "done"
	StepCurrent StepState = "current"
	// StepFailed is the current step of a Degraded or Aborted rollout.
	StepFailed StepState = "failed"
	StepToCome StepState = "to-come"
)

// Step is one row of the steps a screen lists.
type Step struct {
	Label string
	State StepState
}

// Steps lists the rollout's steps with where it stands with each, the
// implicit final step included when the spec's steps end below 100%.
func Steps(m Model) []Step {
	labels := append([]string(nil), m.Steps...)
	if !m.StepsEndAtFull {
		labels = append(labels, "100% (the rest)")
	}
	// Past the last step the remaining pods are updated towards 100%, which
	// is the last row whether the spec wrote it or not.
	current := min(m.CurrentStep, len(labels)-1)
	out := make([]Step, len(labels))
	for i, label := range labels {
		state := StepCurrent
		switch {
		case m.Phase == "Completed" || i < current:
			state = StepDone
		case i > current:
			state = StepToCome
		case m.Phase == "Degraded" || m.Phase == "Aborted":
			state = StepFailed
		}
		out[i] = Step{label, state}
	}
	return out
}
