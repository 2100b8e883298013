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
)

// Input is everything the planner looks at.
type Input struct {
	Rollout *v1alpha1.StatefulSetRollout
	// StatefulSet is nil before the rollout's StatefulSet exists.
	StatefulSet *appsv1.StatefulSet
	// Pods are the pods the StatefulSet selects, in any order.
	Pods []corev1.Pod
	// Revisions is the StatefulSet's ControllerRevision history, in any order.
	Revisions []Revision
	// TemplateObserved says that the StatefulSet controller has observed the
	// StatefulSet's template even though it has not observed its latest
	// generation yet: its update revision holds that template, so the change
	// still unobserved is the partition's alone, and the revisions in its
	// status hold. The planner then need not wait for that controller's
	// round trip after each batch.
	TemplateObserved bool
	Now              time.Time
}

// Revision is one entry of the StatefulSet's history.
type Revision struct {
	Name   string
	Number int64
}

// Plan is what the controller must do, in field order.
type Plan struct {
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

	// 3. Pods to delete, only after the status and partition were written.
	// Deletions carry the UID and resourceVersion as preconditions so a pod
	// that changed since it was observed is never deleted.
	Delete []PodRef

	// 4. Action annotations that were carried out and may be removed.
	HandledActions []string

	// Events to record after the status write succeeded.
	Events []Event

	// RequeueAfter is when a timer (pause, deadline, minReadySeconds) fires; 0 = none.
	RequeueAfter time.Duration
}

// PodRef identifies one observed version of a pod.
type PodRef struct {
	Name            string
	UID             types.UID
	ResourceVersion string
}

// Event is a Kubernetes Event to record on the rollout.
type Event struct {
	Type    string // corev1.EventTypeNormal or corev1.EventTypeWarning
	Reason  string
	Message string
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
)

// Condition types on the rollout.
const (
	ConditionProgressing = "Progressing"
	ConditionAvailable   = "Available"
	// ConditionSerialBatches is True when podManagementPolicy OrderedReady
	// makes the StatefulSet controller recreate a batch one pod at a time.
	ConditionSerialBatches = "SerialBatches"
)
