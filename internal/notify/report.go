package notify

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Report is a rollout as the notifier needs it: what the controller reports
// to the dispatcher. (Not a snapshot: that word belongs to VolumeSnapshots.)
// The controller builds one after each successful status write (NewReport does most of it) and hands
// it to Notify. The dispatcher keeps it: do not modify its slices afterwards.
type Report struct {
	Key types.NamespacedName
	// UID tells a recreated rollout of the same name from the old one.
	UID types.UID
	// TemplateHash is status.templateHash: it names the rollout (its Slack
	// message, its entries in status.notifications) from start to end,
	// rollback included. StartedAt and Retry (the last retry request
	// handled, status.handledActions[sroll.dev/retry]) tell two attempts at
	// one template apart, for idempotency keys.
	TemplateHash string
	StartedAt    time.Time
	Retry        string
	Phase        v1alpha1.Phase
	Message      string
	// Step is status.currentStepIndex (0-based, Steps when all are done);
	// Steps is the number of steps in spec.rollout.steps.
	Step, Steps int
	// StableRevision and UpdateRevision are the status's. While a rollout
	// rolls back or once it completed they are equal; the dispatcher then
	// shows the revisions it saw the rollout move between or, when it has
	// not seen the rollout move (it started since), the revision the
	// attempt started from (FromRevision).
	StableRevision, UpdateRevision string
	// OldImages are the stable revision's container images, NewImages
	// spec.template's, in container order.
	OldImages, NewImages []string
	// FromRevision is the stable revision the attempt started from, as
	// status.notifications recorded it when the attempt was announced
	// (NewReport fills it in); FromImages are its container images (the
	// controller fills them in; nil when the revision is gone).
	FromRevision string
	FromImages   []string

	// Replicas is how many pods the rollout wants (spec.replicas): what
	// the counts are out of, whatever a wave has down when the report is
	// made. Ready, Updated and UpdatedReady are the status's counts.
	Replicas, Ready, Updated, UpdatedReady int32
	// InFlight names the pods of the batch being replaced, lowest ordinal
	// first: the planner's plan.View.InFlight.
	InFlight []string
	// Events are the notable changes that led to this status (EventsFor).
	Events  []Event
	Now     time.Time
	Targets []v1alpha1.NotificationTarget
	// Recorded is status.notifications as written: what each target was
	// told before, possibly by an operator that has restarted since.
	Recorded []v1alpha1.NotificationStatus
}

// NewReport fills a Report from the rollout as written (r) and the status
// it had before the write (old). The controller adds OldImages and InFlight,
// which only it can see (the stable ControllerRevision and the pods).
func NewReport(r *v1alpha1.StatefulSetRollout, old v1alpha1.StatefulSetRolloutStatus, now time.Time) Report {
	steps := len(r.Spec.Rollout.StepsOrDefault())
	var images []string
	for _, c := range r.Spec.Template.Spec.Containers {
		images = append(images, c.Image)
	}
	st := r.Status
	s := Report{
		Key:            types.NamespacedName{Namespace: r.Namespace, Name: r.Name},
		UID:            r.UID,
		TemplateHash:   st.TemplateHash,
		StartedAt:      timeOf(st.StartedAt),
		Retry:          st.HandledActions[v1alpha1.AnnotationRetry],
		Phase:          st.Phase,
		Message:        st.Message,
		Step:           int(st.CurrentStepIndex),
		Steps:          steps,
		StableRevision: st.StableRevision,
		UpdateRevision: st.UpdateRevision,
		NewImages:      images,
		Replicas:       r.Spec.ReplicasOrDefault(),
		Ready:          st.ReadyReplicas,
		Updated:        st.UpdatedReplicas,
		UpdatedReady:   st.UpdatedReadyReplicas,
		Events:         EventsFor(old, st),
		Now:            now,
		Targets:        r.Spec.Notifications,
		Recorded:       st.Notifications,
	}
	s.FromRevision = s.recordedFrom()
	return s
}

// recordsAttempt reports whether a target's record is of the attempt the
// report belongs to: the same template hash, start (second precision, as
// the status keeps it) and retry request. A record without StartedAt was
// written by an operator that did not record attempts: it is taken for the
// template's current attempt, as that operator took it.
func (s Report) recordsAttempt(rec v1alpha1.NotificationStatus) bool {
	if rec.Revision == "" || rec.Revision != s.TemplateHash {
		return false
	}
	if rec.StartedAt == nil {
		return true
	}
	return !s.StartedAt.IsZero() && rec.StartedAt.Unix() == s.StartedAt.Unix() && rec.Retry == s.Retry
}

// recordedFrom is the revision the attempt started from, as the first
// target recording it has it.
func (s Report) recordedFrom() string {
	for _, rec := range s.Recorded {
		if rec.FromRevision != "" && s.recordsAttempt(rec) {
			return rec.FromRevision
		}
	}
	return ""
}

// attemptRecord is a fresh record of the report's attempt for a target.
func (s Report) attemptRecord(target string) v1alpha1.NotificationStatus {
	rec := v1alpha1.NotificationStatus{Target: target, Revision: s.TemplateHash, Retry: s.Retry}
	if !s.StartedAt.IsZero() {
		// Second precision, as the status keeps it (see recordSent).
		at := metav1.NewTime(s.StartedAt).Rfc3339Copy()
		rec.StartedAt = &at
	}
	if s.forward() {
		rec.FromRevision = s.StableRevision
	}
	return rec
}

// forward reports whether the report shows pods moving to a new revision
// (see the function of the same name on statuses).
func (s Report) forward() bool {
	return s.StableRevision != "" && s.UpdateRevision != "" && s.UpdateRevision != s.StableRevision
}

// stepShown is the 1-based step for humans: the step being worked on, or
// the last one once all are done.
func (s Report) stepShown() int {
	return min(s.Step+1, s.Steps)
}

func timeOf(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func unix(t *metav1.Time) int64 {
	if t == nil {
		return 0
	}
	return t.Unix()
}
