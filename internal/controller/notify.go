package controller

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/history"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/internal/plan"
)

// The notifier is told about a rollout in two halves around the status
// write (see internal/notify): notificationRecords before, for its part of
// the status written (what the targets acknowledged since the last
// reconcile); notify after the write succeeded, with the difference between
// the status read and the status written. A rollout without
// spec.notifications costs the dispatcher nothing, and a reconciler
// without a Notifier (tests, tools) sends nothing.

// notificationRecords is status.notifications to write: what the rollout's
// targets were told. Entries of targets no longer configured are dropped,
// as Record drops them. Without a Notifier the planned records are kept.
func (r *Reconciler) notificationRecords(rollout *v1alpha1.StatefulSetRollout, planned []v1alpha1.NotificationStatus) []v1alpha1.NotificationStatus {
	if r.Notifier == nil {
		return planned
	}
	if len(rollout.Spec.Notifications) == 0 {
		return nil
	}
	return r.Notifier.Record(client.ObjectKeyFromObject(rollout), rollout.Status.Notifications)
}

// warnRefusals records a NotificationRefused Warning event naming the
// targets the status just written says are refused, where the status it
// replaced did not say so (or said it for another reason): once per
// refusal, not once per reconcile. One event for all of them: events of one
// reconcile regard the same object version, which the recorder aggregates
// into one series, keeping only the first note.
func (r *Reconciler) warnRefusals(rollout *v1alpha1.StatefulSetRollout, old []v1alpha1.NotificationStatus) {
	var refused []string
	for _, n := range rollout.Status.Notifications {
		if n.Refused == "" {
			continue
		}
		i := slices.IndexFunc(old, func(o v1alpha1.NotificationStatus) bool { return o.Target == n.Target })
		if i >= 0 && old[i].Refused == n.Refused && old[i].Message == n.Message {
			continue
		}
		refused = append(refused, fmt.Sprintf("target %s refused (%s): %s", n.Target, n.Refused, n.Message))
	}
	if len(refused) > 0 {
		r.warn(rollout, ReasonNotificationRefused, actionNotify, "%s", strings.Join(refused, "; "))
	}
}

// notify hands the dispatcher the status just written (rollout.Status) and
// the status it replaced (old). It runs on every reconcile that got this
// far, written or not: after a restart the first report is how the
// dispatcher learns what status.notifications recorded. The batch in flight
// is the planner's (view), the batch it is about to delete included: the
// status written already counts it in flight.
func (r *Reconciler) notify(rollout *v1alpha1.StatefulSetRollout, old *v1alpha1.StatefulSetRolloutStatus, obs observed, view plan.View) {
	if r.Notifier == nil {
		return
	}
	key := client.ObjectKeyFromObject(rollout)
	if len(rollout.Spec.Notifications) == 0 {
		// Nothing configured, or the targets were removed: nothing to keep.
		r.Notifier.Forget(key)
		return
	}
	s := report(rollout, *old, obs.revisions, r.Clock.Now())
	s.InFlight = view.InFlight
	r.Notifier.Notify(s)
}

// report is the notifier's Report of a rollout as written (rollout) over
// the status it replaced (old), with the images of its revisions.
func report(rollout *v1alpha1.StatefulSetRollout, old v1alpha1.StatefulSetRolloutStatus, revisions []appsv1.ControllerRevision, now time.Time) notify.Report {
	s := notify.NewReport(rollout, old, now)
	s.OldImages = history.Images(revisions, rollout.Status.StableRevision)
	s.FromImages = s.OldImages
	if s.FromRevision != "" && s.FromRevision != rollout.Status.StableRevision {
		// A completed rollout: the revision it started from, while the
		// history still has it.
		s.FromImages = history.Images(revisions, s.FromRevision)
	}
	return s
}
