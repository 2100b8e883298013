package v1alpha1

// StepsOrDefault returns the steps the operator walks: the spec's, or the
// API default of one 100% step when none are set (a rollout read without
// defaulting, e.g. in a unit test, has none).
func (s RolloutStrategy) StepsOrDefault() []RolloutStep {
	if len(s.Steps) == 0 {
		hundred := int32(100)
		return []RolloutStep{{Percent: &hundred}}
	}
	return s.Steps
}
