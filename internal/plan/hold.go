package plan

import (
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

// HoldKind is a reason a rollout does not move on by itself. Each kind has
// one phase and one Progressing condition (holdKinds), so a rollout's phase,
// message and condition follow from its hold in one place (holdOn, and
// setConditions). A new reason to wait (a snapshot set not ready yet, an
// analysis verdict pending, a handover in progress, the API server refusing
// the StatefulSet) is one new kind and one row, decided where its input is
// read.
type HoldKind int

const (
	// HoldSpecPaused: spec.paused is true; setting it to false resumes.
	HoldSpecPaused HoldKind = iota + 1
	// HoldPauseStep: a pause step, until its duration ends or a promote.
	HoldPauseStep
	// HoldBudget: pods that are not available use up the disruption budget,
	// so no outdated pod can be replaced now.
	HoldBudget
	// HoldDeadline: no progress within progressDeadlineSeconds: Degraded,
	// before or after the automatic rollback, until a retry or a new template.
	HoldDeadline
	// HoldAborted: rolled back by request; a retry or a new template goes on.
	HoldAborted
	// HoldRefused: the API server refuses the StatefulSet this spec asks
	// for (Input.Refused): Degraded, with the API server's message, until a
	// write of it is accepted (a fixed spec, a freed quota).
	HoldRefused
	// HoldAnalysis: an analysis step measures its checks; their verdict
	// (or a promote) ends it.
	HoldAnalysis
	// HoldAnalysisFailed: a check of an analysis step or of the background
	// analysis went over its limit: Degraded, before or after the automatic
	// rollback, until a retry or a new template.
	HoldAnalysisFailed
	// HoldSnapshot: a new template waits for the snapshot set
	// spec.snapshots.beforeRollout takes (Input.Snapshot) before it reaches
	// the StatefulSet.
	HoldSnapshot
	// HoldSnapshotFailed: that set failed or timed out: Degraded with no
	// pod touched, until a retry or a new template.
	HoldSnapshotFailed
	// HoldRestore: a restore from a snapshot set runs (Input.Restore): the
	// StatefulSet keeps its template, and is scaled to zero while the
	// claims are replaced.
	HoldRestore
)

// String names a kind for people and logs: "Budget", "PauseStep".
func (k HoldKind) String() string {
	if kind, ok := holdKinds[k]; ok {
		return kind.name
	}
	return "HoldKind(" + strconv.Itoa(int(k)) + ")"
}

// Hold is why a rollout waits, as Decide found it.
type Hold struct {
	Kind HoldKind
	// Message says why and what ends the hold; it is status.message.
	Message string
}

// holdKind is what a kind of hold makes of the rollout's status.
type holdKind struct {
	name   string
	phase  v1alpha1.Phase
	status metav1.ConditionStatus // of the Progressing condition
	reason string                 // of the Progressing condition
}

var holdKinds = map[HoldKind]holdKind{
	HoldSpecPaused: {"SpecPaused", v1alpha1.PhasePaused, metav1.ConditionUnknown, ReasonRolloutPaused},
	HoldPauseStep:  {"PauseStep", v1alpha1.PhasePaused, metav1.ConditionUnknown, ReasonRolloutPaused},
	HoldBudget:     {"Budget", v1alpha1.PhaseProgressing, metav1.ConditionTrue, ReasonRolloutProgressing},
	HoldDeadline:   {"Deadline", v1alpha1.PhaseDegraded, metav1.ConditionFalse, ReasonProgressDeadlineExceeded},
	HoldAborted:    {"Aborted", v1alpha1.PhaseAborted, metav1.ConditionFalse, ReasonRolloutAborted},
	HoldRefused:    {"Refused", v1alpha1.PhaseDegraded, metav1.ConditionFalse, ReasonStatefulSetRefused},

	HoldAnalysis:       {"Analysis", v1alpha1.PhaseProgressing, metav1.ConditionTrue, ReasonAnalysisRunning},
	HoldAnalysisFailed: {"AnalysisFailed", v1alpha1.PhaseDegraded, metav1.ConditionFalse, ReasonAnalysisFailed},

	HoldSnapshot:       {"Snapshot", v1alpha1.PhaseProgressing, metav1.ConditionTrue, ReasonTakingSnapshot},
	HoldSnapshotFailed: {"SnapshotFailed", v1alpha1.PhaseDegraded, metav1.ConditionFalse, ReasonSnapshotFailed},
	HoldRestore:        {"Restore", v1alpha1.PhaseProgressing, metav1.ConditionTrue, ReasonRestoring},
}

// Reasons of the Progressing condition.
const (
	ReasonRolloutProgressing       = "RolloutProgressing"
	ReasonRolloutPaused            = "RolloutPaused"
	ReasonRolloutCompleted         = "RolloutCompleted"
	ReasonRollingBack              = "RollingBack"
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	ReasonRolloutAborted           = "RolloutAborted"
	ReasonStatefulSetRefused       = "StatefulSetRefused"
	ReasonAnalysisRunning          = "AnalysisRunning"
	ReasonAnalysisFailed           = "AnalysisFailed"
	ReasonTakingSnapshot           = "TakingSnapshot"
	ReasonSnapshotFailed           = snapshot.ReasonSnapshotFailed
	ReasonRestoring                = "Restoring"
)

// Reasons of the Available and SerialBatches conditions.
const (
	ReasonWithinBudget   = "WithinBudget"
	ReasonBudgetExceeded = "BudgetExceeded"
	ReasonOrderedReady   = "OrderedReady"
)

// holdOn holds the rollout: its phase and message are the hold's.
func (d *decider) holdOn(kind HoldKind, message string) {
	d.hold = &Hold{Kind: kind, Message: message}
	d.status.Phase = holdKinds[kind].phase
	d.status.Message = message
}

// moving sets the phase and message of a rollout that is not held. The
// message is kept where the rollout can't act this time, since flipping it
// would cost a status write for no news.
func (d *decider) moving(phase v1alpha1.Phase, message string) {
	d.hold = nil
	d.status.Phase = phase
	d.status.Message = message
}

// refusedRetry is how often a StatefulSet write the API server refused is
// tried again while the spec stays the same: a quota may free up, an
// admission policy change.
const refusedRetry = time.Minute

// holdOnRefusal holds a rollout whose StatefulSet the API server refuses:
// nothing is deleted (the partition could not be written), and the write is
// tried again every refusedRetry. A refusal that is gone lifts the hold
// (liftRefusal).
func (d *decider) holdOnRefusal() {
	if d.in.Refused == "" {
		return
	}
	d.plan.Delete = nil
	d.holdOn(HoldRefused, "the API server refuses the StatefulSet this spec asks for: "+d.in.Refused+"; fix the spec")
	d.timers = append(d.timers, refusedRetry)
	if d.previous != v1alpha1.PhaseDegraded {
		d.event(corev1.EventTypeWarning, ReasonStatefulSetRefused, "%s", d.status.Message)
	}
}

// liftRefusal moves a rollout held by a refusal on as Progressing once the
// refusal is gone; the planner then decides as for any moving rollout.
func (d *decider) liftRefusal() {
	c := meta.FindStatusCondition(d.status.Conditions, ConditionProgressing)
	if d.in.Refused == "" && d.status.Phase == v1alpha1.PhaseDegraded && c != nil && c.Reason == ReasonStatefulSetRefused {
		d.moving(v1alpha1.PhaseProgressing, d.status.Message)
	}
}

// keptHold is the hold of a rollout that this reconcile left in the held
// phase its status had (a Degraded rollout, a pause step while the
// StatefulSet catches up): the status says why it is held.
func (d *decider) keptHold() *Hold {
	kind := map[v1alpha1.Phase]HoldKind{
		v1alpha1.PhasePaused:   HoldPauseStep,
		v1alpha1.PhaseDegraded: HoldDeadline,
		v1alpha1.PhaseAborted:  HoldAborted,
	}[d.status.Phase]
	if kind == 0 {
		return nil
	}
	if c := meta.FindStatusCondition(d.status.Conditions, ConditionProgressing); kind == HoldDeadline && c != nil && c.Reason == ReasonAnalysisFailed {
		kind = HoldAnalysisFailed
	}
	return &Hold{Kind: kind, Message: d.status.Message}
}

// progressing is the Progressing condition: the hold's, or the phase's.
func (d *decider) progressing() (metav1.ConditionStatus, string) {
	if d.hold != nil {
		k := holdKinds[d.hold.Kind]
		return k.status, k.reason
	}
	switch d.status.Phase {
	case v1alpha1.PhaseCompleted:
		return metav1.ConditionTrue, ReasonRolloutCompleted
	case v1alpha1.PhaseRollingBack:
		return metav1.ConditionTrue, ReasonRollingBack
	}
	return metav1.ConditionTrue, ReasonRolloutProgressing
}
