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
	return seconds(s.ProgressDeadlineSeconds, DefaultProgressDeadlineSeconds)
}

// DefaultHookTimeoutSeconds, DefaultStatusPeriodSeconds and
// DefaultRecoveryTimeoutSeconds are the +kubebuilder:default of the hooks'
// timeoutSeconds, the status hook's periodSeconds and
// recovery.timeoutSeconds.
const (
	DefaultHookTimeoutSeconds     = 30
	DefaultStatusPeriodSeconds    = 10
	DefaultRecoveryTimeoutSeconds = 300
	DefaultFailoverAfterSeconds   = 30
	DefaultFencingAfterSeconds    = 60
)

// PrimariesOrDefault is how many members act as primaries, 1 when unset.
func (s *ReplicationSpec) PrimariesOrDefault() int32 {
	if s.Primaries == nil {
		return 1
	}
	return *s.Primaries
}

// TimeoutOrDefault is how long the hook may run.
func (h Hook) TimeoutOrDefault() time.Duration {
	return seconds(h.TimeoutSeconds, DefaultHookTimeoutSeconds)
}

// PeriodOrDefault is how often the status hook runs on each member.
func (h StatusHook) PeriodOrDefault() time.Duration {
	return seconds(h.PeriodSeconds, DefaultStatusPeriodSeconds)
}

// QuorumOrDefault is the recovery quorum, All when unset.
func (r RecoverySpec) QuorumOrDefault() Quorum {
	if r.Quorum == "" {
		return QuorumAll
	}
	return r.Quorum
}

// TimeoutOrDefault is how long a recovery waits for quorum before it is Degraded.
func (r RecoverySpec) TimeoutOrDefault() time.Duration {
	return seconds(r.TimeoutSeconds, DefaultRecoveryTimeoutSeconds)
}

// AfterOrDefault is how long the primary may be unhealthy before failover.
func (f FailoverSpec) AfterOrDefault() time.Duration {
	return seconds(f.AfterSeconds, DefaultFailoverAfterSeconds)
}

// AfterOrDefault is how long a node may be NotReady before its fencing is asked for.
func (f FencingSpec) AfterOrDefault() time.Duration {
	return seconds(f.AfterSeconds, DefaultFencingAfterSeconds)
}

func seconds(value *int32, def int32) time.Duration {
	if value != nil {
		def = *value
	}
	return time.Duration(def) * time.Second
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
