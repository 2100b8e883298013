package controller

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

// phases are every phase a rollout reports, so sroll_rollout_phase has one
// series per phase: 1 for the current one, 0 for the others.
var phases = []v1alpha1.Phase{
	v1alpha1.PhaseProgressing, v1alpha1.PhasePaused, v1alpha1.PhaseCompleted,
	v1alpha1.PhaseDegraded, v1alpha1.PhaseRollingBack, v1alpha1.PhaseAborted,
}

// Metrics are the operator's Prometheus metrics. Series of one rollout are
// removed when the rollout is deleted.
type Metrics struct {
	phase           *prometheus.GaugeVec
	step            *prometheus.GaugeVec
	updatedPods     *prometheus.GaugeVec
	deletedPods     *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	stepDuration    *prometheus.HistogramVec
	reconcileErrors prometheus.Counter

	snapshotDuration *prometheus.HistogramVec
	snapshotFailures *prometheus.CounterVec
	snapshotFreeze   *prometheus.HistogramVec
}

// NewMetrics registers the operator's metrics with reg; the operator passes
// controller-runtime's metrics.Registry, tests a registry of their own.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	rollout := []string{"namespace", "rollout"}
	m := &Metrics{
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sroll_rollout_phase",
			Help: "Phase of the rollout: 1 for the current phase, 0 for the others.",
		}, []string{"namespace", "rollout", "phase"}),
		step: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sroll_rollout_step",
			Help: "Index of the step the rollout works on; the number of steps once all are done.",
		}, rollout),
		updatedPods: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sroll_rollout_updated_pods",
			Help: "Pods running the revision the rollout moves to.",
		}, rollout),
		deletedPods: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sroll_pods_deleted_total",
			Help: "Pods the operator deleted to move them to another revision.",
		}, rollout),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sroll_rollout_duration_seconds",
			Help: "Time from the start of a rollout to its completion; creating the first pods is not counted.",
			// 10 seconds to about 11 hours.
			Buckets: prometheus.ExponentialBuckets(10, 2, 13),
		}, rollout),
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sroll_rollout_step_duration_seconds",
			Help: "Time a rollout spent on a step (pause steps included), observed when it moves past the step.",
			// 1 second to about 4.5 hours.
			Buckets: prometheus.ExponentialBuckets(1, 2, 15),
		}, rollout),
		reconcileErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sroll_reconcile_errors_total",
			Help: "Reconciles that failed with an error (stale reads that are retried do not count).",
		}),
	}
	m.snapshotDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sroll_snapshot_duration_seconds",
		Help: "Time from the start of a snapshot set to every VolumeSnapshot of it ready.",
		// 1 second to about 2 hours.
		Buckets: prometheus.ExponentialBuckets(1, 2, 14),
	}, []string{"namespace", "rollout", "reason"})
	m.snapshotFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sroll_snapshot_failures_total",
		Help: "Snapshot sets that failed: a VolumeSnapshot error, or not ready within readyTimeoutSeconds.",
	}, []string{"namespace", "rollout", "reason"})
	m.snapshotFreeze = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sroll_snapshot_freeze_seconds",
		Help: "Time the members of a snapshot set were frozen: from the freeze's start to the last thaw.",
		// 100 milliseconds to about 7 minutes.
		Buckets: prometheus.ExponentialBuckets(0.1, 2, 13),
	}, []string{"namespace", "rollout", "reason"})
	reg.MustRegister(m.phase, m.step, m.updatedPods, m.deletedPods, m.duration, m.stepDuration, m.reconcileErrors, m.snapshotDuration, m.snapshotFailures, m.snapshotFreeze)
	return m
}

// observe sets the series of a rollout from its status, just written over
// previous, and times the rollout when it has just completed. A rollout
// without a stable revision only created the first pods: it moved none.
func (m *Metrics) observe(rollout *v1alpha1.StatefulSetRollout, previous *v1alpha1.StatefulSetRolloutStatus, now time.Time) {
	ns, name, status := rollout.Namespace, rollout.Name, &rollout.Status
	for _, phase := range phases {
		value := 0.0
		if status.Phase == phase {
			value = 1
		}
		m.phase.WithLabelValues(ns, name, string(phase)).Set(value)
	}
	m.step.WithLabelValues(ns, name).Set(float64(status.CurrentStepIndex))
	m.updatedPods.WithLabelValues(ns, name).Set(float64(status.UpdatedReplicas))
	if status.Phase == v1alpha1.PhaseCompleted && previous.Phase != v1alpha1.PhaseCompleted &&
		status.StartedAt != nil && status.StableRevision != "" {
		m.duration.WithLabelValues(ns, name).Observe(now.Sub(status.StartedAt.Time).Seconds())
	}
	// A step is timed when the rollout moves past it within one rollout; a
	// new template starts again at step 0 and times nothing.
	if status.CurrentStepIndex > previous.CurrentStepIndex && previous.StepStartedAt != nil &&
		status.TemplateHash == previous.TemplateHash {
		m.stepDuration.WithLabelValues(ns, name).Observe(now.Sub(previous.StepStartedAt.Time).Seconds())
	}
}

func (m *Metrics) podsDeleted(rollout *v1alpha1.StatefulSetRollout, n int) {
	if n > 0 {
		m.deletedPods.WithLabelValues(rollout.Namespace, rollout.Name).Add(float64(n))
	}
}

// forget removes every series of a deleted rollout.
func (m *Metrics) forget(rollout types.NamespacedName) {
	labels := prometheus.Labels{"namespace": rollout.Namespace, "rollout": rollout.Name}
	for _, vec := range []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{m.phase, m.step, m.updatedPods, m.deletedPods, m.duration, m.stepDuration, m.snapshotDuration, m.snapshotFailures, m.snapshotFreeze} {
		vec.DeletePartialMatch(labels)
	}
}

// snapshotEnded times a snapshot set that just became Ready, or counts it
// when it just failed.
func (m *Metrics) snapshotEnded(set *v1alpha1.RolloutSnapshot) {
	labels := []string{set.Namespace, set.Spec.RolloutName, string(set.Spec.Reason)}
	st := &set.Status
	switch {
	case st.Phase == v1alpha1.SnapshotReady && st.StartedAt != nil && st.ReadyAt != nil:
		m.snapshotDuration.WithLabelValues(labels...).Observe(st.ReadyAt.Sub(st.StartedAt.Time).Seconds())
	case st.Phase == v1alpha1.SnapshotFailed:
		m.snapshotFailures.WithLabelValues(labels...).Inc()
	}
}

// freezeEnded times the freeze of a set whose last member was just thawed
// (its status before the write was previous).
func (m *Metrics) freezeEnded(set *v1alpha1.RolloutSnapshot, previous *v1alpha1.RolloutSnapshotStatus) {
	if previous.Freeze != nil && previous.Freeze.ThawedAt != nil {
		return
	}
	if frozen, ok := snapshot.FrozenFor(set); ok {
		m.snapshotFreeze.WithLabelValues(set.Namespace, set.Spec.RolloutName, string(set.Spec.Reason)).Observe(frozen.Seconds())
	}
}
