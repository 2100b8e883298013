// Package plan decides what a StatefulSetRollout does next. It is a pure
// function of observed state: no client, no clock, no goroutines. The
// controller reads the world into an Input, calls Decide, and carries out the
// returned Plan in the order its fields are documented.
package plan

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/consul"
	"github.com/sroll-dev/sroll/internal/event"
	"github.com/sroll-dev/sroll/internal/replication"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

// Input is everything the planner looks at.
type Input struct {
	Rollout *v1alpha1.StatefulSetRollout
	// StatefulSet is nil before the rollout's StatefulSet exists.
	StatefulSet *appsv1.StatefulSet
	// Pods are the facts of the pods the StatefulSet selects, in any order.
	Pods []PodFacts
	// History is the StatefulSet's ControllerRevisions, in any order: the
	// templates an undo goes back to.
	History []appsv1.ControllerRevision
	// Replication, set for a rollout with spec.replication, adds the
	// replication record's word to the rollout: a pod is available only
	// while its member runs in its role, and is deleted only once its
	// member is stopped.
	Replication *replication.Gate
	// Snapshot, set while spec.snapshots.beforeRollout has a set taken
	// for a new template, is that set as the snapshot decider sees it: the
	// new template reaches the StatefulSet only once it is Ready.
	Snapshot *snapshot.Gate
	// Restore, set while a restore from a snapshot set runs, holds the
	// rollout where it is, and scales the StatefulSet to zero (after each
	// member's handover) while its claims are replaced.
	Restore *snapshot.RestoreGate
	// Consul, set for a rollout with spec.rollout.consul, adds Consul's
	// word: a pod is deleted only once its instance was drained, and with
	// requireHealthy an updated pod is available only while its instance
	// is healthy.
	Consul *consul.Gate
	Now    time.Time
	// Refused is the API server's message when it refused, for its content
	// (invalid, forbidden by an admission plugin or a quota), the last
	// StatefulSet write this generation of the rollout asked for; empty
	// otherwise. The controller observes it when it writes the plan.
	Refused string
}

// Plan is what the controller must do, in field order.
type Plan struct {
	// 0. Undo, when set, is all there is to do: write the rollout itself,
	// then record the events. Nothing below applies (Status is the status
	// read); the update starts the next reconcile, which rolls the new
	// template out like any other.
	Undo *Undo

	// 1. Status to write (one patch; skipped when equal to the current one).
	Status v1alpha1.StatefulSetRolloutStatus

	// 2. The StatefulSet to converge to. TemplateHash is the value its
	// sroll.dev/template-hash annotation must carry; when the StatefulSet
	// carries another one, its template is replaced: by the rollout's
	// spec.template when TemplateRevision is empty, else by that
	// ControllerRevision's template (a rollback). A paused rollout returns the
	// StatefulSet's own hash so its template is left alone. Partition is the
	// updateStrategy pin, written in the same update as the template.
	TemplateHash     string
	TemplateRevision string
	Partition        int32
	// Replicas is the StatefulSet's replicas: TargetReplicas, kept above a
	// scale-down's leaving members until their handover is done.
	Replicas int32
	// TargetReplicas is how many members the set is going to have:
	// spec.replicas, or 0 while a restore scales it down.
	TargetReplicas int32

	// 3. Pods to delete, only after the status and partition were written.
	// Deletions carry the UID and resourceVersion as preconditions so a pod
	// that changed since it was observed is never deleted.
	Delete []PodRef
	// Handover names the pods of the batch that are not deleted yet because
	// their handover is not done: their application still runs (the
	// replication decider stops it) or their Consul instance is not drained
	// yet (the Consul watcher puts it in maintenance). A later plan deletes
	// them.
	Handover []string

	// 4. Action annotations that were carried out and may be removed.
	HandledActions []string

	// 5. Measurements to take, each at its time (now when it is past),
	// outside the reconcile: each result is appended to its record in
	// status.analysis (analysis.Record), the check, Background and Step
	// naming the record, which starts the next reconcile. A measurement
	// whose record is gone by then is dropped: its analysis ended.
	Measure []Measure

	// Events to record after the status write succeeded.
	Events []event.Event

	// RequeueAfter is when a timer (pause, deadline, minReadySeconds) fires; 0 = none.
	RequeueAfter time.Duration

	// View is the rollout as this plan leaves it, for the readers that show
	// it; nothing in it is to be done.
	View View
}

// View is a rollout as the planner sees it: the one answer the notifier,
// the plugin's status screen and a dashboard show, so that none of them
// works out again which pods are in flight or why the rollout waits (Argo
// Rollouts builds one RolloutInfo for its CLI and its UI the same way). The
// controller reads it from the plan it applies; a reader that does not
// decide (the plugin) calls Decide on what it read and uses the View alone.
// What a new concern wants shown (the replication role of each pod, the
// snapshot set a rollout waits for, an analysis verdict) is a field here,
// filled in by Decide from its decider's answer.
type View struct {
	// InFlight names the pods of the batch being replaced, lowest ordinal
	// first: the pods this plan deletes, pods terminating, ordinals without
	// a pod and pods on the update revision not available yet.
	InFlight []string
	// Hold is why the rollout waits; nil while it moves or once completed.
	Hold *Hold
	// Pods are the StatefulSet's own pods as judged when observed, lowest
	// ordinal first.
	Pods []Pod
}

// Undo carries out a sroll.dev/undo request: one update of the rollout that
// removes the annotation and, when the request named a revision of the
// history, sets spec.template to that revision's template. The one update
// makes the request happen exactly once.
type Undo struct {
	// Template is the new spec.template; nil when the request is dropped
	// (an Event says why).
	Template *corev1.PodTemplateSpec
}

// Measure is a measurement due of a check of an analysis.
type Measure struct {
	Check      string
	Background bool
	Step       int32
	At         time.Time
}

// PodRef identifies one observed version of a pod.
type PodRef struct {
	Name            string
	UID             types.UID
	ResourceVersion string
}

// Event reasons are stable: alerts and tests match on them.
const (
	ReasonStepStarted       = "StepStarted"
	ReasonBatchDeleted      = "BatchDeleted"
	ReasonPaused            = "Paused"
	ReasonPromoted          = "Promoted"
	ReasonStepCompleted     = "StepCompleted"
	ReasonDegraded          = "Degraded"
	ReasonRollbackStarted   = "RollbackStarted"
	ReasonAborted           = "Aborted"
	ReasonCompleted         = "Completed"
	ReasonRollbackCompleted = "RollbackCompleted"
	ReasonRetried           = "Retried"
	ReasonActionIgnored     = "ActionIgnored"
	ReasonUndone            = "Undone"
	ReasonUndoFailed        = "UndoFailed"
	ReasonAnalysisPassed    = "AnalysisPassed"
	// A failed analysis is recorded as ReasonAnalysisFailed, the reason
	// of its condition too, as a refusal is as ReasonStatefulSetRefused.
)

// Condition types on the rollout.
const (
	ConditionProgressing = "Progressing"
	ConditionAvailable   = "Available"
	// ConditionSerialBatches is True when podManagementPolicy OrderedReady
	// makes the StatefulSet controller recreate a batch one pod at a time.
	ConditionSerialBatches = "SerialBatches"
)

// PodsOf are a pod list's items, by pointer: the pods as the operator and
// the plugin read them, before FactsOfEach.
func PodsOf(list *corev1.PodList) []*corev1.Pod {
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	return pods
}
