package controller

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/history"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/internal/plan"
)

// The notifier is told about a rollout in two halves around the status
// write (see internal/notify): recordNotifications before, to write what
// the targets acknowledged since the last reconcile into the planned
// status; notify after the write succeeded, with the difference between
// the status read and the status written. A rollout without
// spec.notifications costs the dispatcher nothing, and a reconciler
// without a Notifier (tests, tools) sends nothing.

// recordNotifications sets planned.Notifications to what the rollout's
// targets were told. Entries of targets no longer configured are dropped,
// as Record drops them.
func (r *Reconciler) recordNotifications(rollout *v1alpha1.StatefulSetRollout, planned *v1alpha1.StatefulSetRolloutStatus) {
	if r.Notifier == nil {
		return
	}
	if len(rollout.Spec.Notifications) == 0 {
		planned.Notifications = nil
		return
	}
	planned.Notifications = r.Notifier.Record(client.ObjectKeyFromObject(rollout), rollout.Status.Notifications)
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
// far, written or not: after a restart the first snapshot is how the
// dispatcher learns what status.notifications recorded. deleting is the
// batch the plan is about to delete: the status written already counts it
// in flight.
func (r *Reconciler) notify(rollout *v1alpha1.StatefulSetRollout, old *v1alpha1.StatefulSetRolloutStatus, obs observed, deleting []plan.PodRef) {
	if r.Notifier == nil {
		return
	}
	key := client.ObjectKeyFromObject(rollout)
	if len(rollout.Spec.Notifications) == 0 {
		// Nothing configured, or the targets were removed: nothing to keep.
		r.Notifier.Forget(key)
		return
	}
	s := notify.NewSnapshot(rollout, *old, r.Clock.Now())
	s.OldImages = history.Images(obs.revisions, rollout.Status.StableRevision)
	s.FromImages = s.OldImages
	if s.FromRevision != "" && s.FromRevision != rollout.Status.StableRevision {
		// A completed rollout: the revision it started from, while the
		// history still has it.
		s.FromImages = history.Images(obs.revisions, s.FromRevision)
	}
	s.InFlight = inFlight(rollout, obs, deleting)
	r.Notifier.Notify(s)
}

// inFlight names the pods of the batch being replaced, by ordinal: pods on
// the update revision not yet Ready, terminating pods, ordinals without a
// pod (deleted and not recreated yet) and the pods this reconcile deletes.
func inFlight(rollout *v1alpha1.StatefulSetRollout, obs observed, deleting []plan.PodRef) []string {
	if obs.sts == nil {
		return nil
	}
	names := map[string]bool{}
	present := map[string]bool{}
	for i := range obs.pods {
		pod := &obs.pods[i]
		present[pod.Name] = true
		updated := rollout.Status.UpdateRevision != "" &&
			pod.Labels[appsv1.ControllerRevisionHashLabelKey] == rollout.Status.UpdateRevision
		if pod.DeletionTimestamp != nil || (updated && !podReady(pod)) {
			names[pod.Name] = true
		}
	}
	replicas := int32(1)
	if rollout.Spec.Replicas != nil {
		replicas = *rollout.Spec.Replicas
	}
	for ordinal := range replicas {
		if name := fmt.Sprintf("%s-%d", obs.sts.Name, ordinal); !present[name] {
			names[name] = true
		}
	}
	for _, ref := range deleting {
		names[ref.Name] = true
	}
	if len(names) == 0 {
		return nil
	}
	out := make([]string, 0, len(names))
	for name := range names {
		out = append(out, name)
	}
	// By ordinal: the rendered message must not change with the order the
	// cache lists pods in, or every reconcile would cost a Slack update.
	prefix := obs.sts.Name + "-"
	slices.SortFunc(out, func(a, b string) int {
		na, nb := strings.TrimPrefix(a, prefix), strings.TrimPrefix(b, prefix)
		return cmp.Or(cmp.Compare(len(na), len(nb)), strings.Compare(na, nb))
	})
	return out
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
