package v1alpha1

import (
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// The …OrDefault helpers return what the operator acts on: the spec's value,
// or the API default its marker writes when the field is unset. A rollout
// read without defaulting (a unit test, an object built in code, a client
// that skipped the API server) has the fields unset, and every reader must
// then agree on the same default: these are the one place that knows it.
// Change a marker and its helper together.

// DefaultMaxUnavailable is the +kubebuilder:default of maxUnavailable.
const DefaultMaxUnavailable = "25%"

// DefaultProgressDeadlineSeconds is the +kubebuilder:default of
// progressDeadlineSeconds.
const DefaultProgressDeadlineSeconds = 600

// ReplicasOrDefault is spec.replicas, 1 when unset (as for a StatefulSet).
func (s *StatefulSetRolloutSpec) ReplicasOrDefault() int32 {
	if s.Replicas == nil {
		return 1
	}
	return *s.Replicas
}

// StepsOrDefault returns the steps the operator walks: the spec's, or the
// API default of one 100% step when none are set.
func (s RolloutStrategy) StepsOrDefault() []RolloutStep {
	if len(s.Steps) == 0 {
		hundred := int32(100)
		return []RolloutStep{{Percent: &hundred}}
	}
	return s.Steps
}

// MaxUnavailableOrDefault is the disruption budget of a forward rollout.
func (s RolloutStrategy) MaxUnavailableOrDefault() intstr.IntOrString {
	if s.MaxUnavailable == nil {
		return intstr.FromString(DefaultMaxUnavailable)
	}
	return *s.MaxUnavailable
}

// RollbackMaxUnavailableOrDefault is the disruption budget of a rollback:
// rollbackMaxUnavailable, else maxUnavailable.
func (s RolloutStrategy) RollbackMaxUnavailableOrDefault() intstr.IntOrString {
	if s.RollbackMaxUnavailable == nil {
		return s.MaxUnavailableOrDefault()
	}
	return *s.RollbackMaxUnavailable
}

// ProgressDeadlineOrDefault is how long a rollout may go without progress.
func (s RolloutStrategy) ProgressDeadlineOrDefault() time.Duration {
	seconds := int32(DefaultProgressDeadlineSeconds)
	if s.ProgressDeadlineSeconds != nil {
		seconds = *s.ProgressDeadlineSeconds
	}
	return time.Duration(seconds) * time.Second
}

// DefaultAnalysisIntervalSeconds is the +kubebuilder:default of intervalSeconds.
const DefaultAnalysisIntervalSeconds = 60

// IntervalOrDefault is the time between two measurements of a check.
func (a Analysis) IntervalOrDefault() time.Duration {
	seconds := int32(DefaultAnalysisIntervalSeconds)
	if a.IntervalSeconds != nil {
		seconds = *a.IntervalSeconds
	}
	return time.Duration(seconds) * time.Second
}

// CountOrDefault is how many measurements of each check a step analysis
// takes; 0 measures until promoted. Unset is one measurement: no marker
// default, since the background analysis must leave count unset.
func (a Analysis) CountOrDefault() int32 {
	if a.Count == nil {
		return 1
	}
	return *a.Count
}
