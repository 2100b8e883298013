package plan

// Decide returns what to do next for one rollout.
func Decide(in Input) Plan {
	return Plan{Status: *in.Rollout.Status.DeepCopy()}
}
