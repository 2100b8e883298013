package snapshot

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
)

// ReasonScheduleInvalid: spec.snapshots.schedule does not parse (a value
// out of range: the API server checks only its shape).
const ReasonScheduleInvalid = "SnapshotScheduleInvalid"

// soon is how soon a scheduled set that had to wait for another set
// created in the same decision is looked at again.
const soon = time.Second

// scheduled takes a set when spec.snapshots.schedule says one is due: at
// the schedule's first time after the last one taken for. The schedule is
// counted from when it was first seen, and a stretch of missed times gives
// one set.
func (d *Decision) scheduled(in Input) {
	spec := in.Rollout.Spec.Snapshots
	rec := d.Record
	if spec.Schedule == "" {
		rec.LastScheduleTime, rec.ScheduleError = nil, ""
		return
	}
	schedule, err := cron.ParseStandard(spec.Schedule)
	if err != nil {
		if rec.ScheduleError == "" {
			d.Events = append(d.Events, event.Event{Type: corev1.EventTypeWarning, Reason: ReasonScheduleInvalid,
				Message: fmt.Sprintf("spec.snapshots.schedule %q: %v; no scheduled set is taken until it is fixed", spec.Schedule, err)})
		}
		rec.ScheduleError = err.Error()
		return
	}
	rec.ScheduleError = ""
	now := in.Now.UTC()
	if rec.LastScheduleTime == nil {
		first := metav1.NewTime(now)
		rec.LastScheduleTime = &first
		d.RequeueAfter = schedule.Next(now).Sub(now)
		return
	}
	due := schedule.Next(rec.LastScheduleTime.UTC())
	if now.Before(due) {
		d.RequeueAfter = due.Sub(now)
		return
	}
	if d.Create != nil {
		// One set per decision: the before-rollout one goes first.
		d.RequeueAfter = soon
		return
	}
	for next := schedule.Next(due); !now.Before(next); next = schedule.Next(next) {
		due = next
	}
	at := metav1.NewTime(due)
	rec.LastScheduleTime = &at
	name := NewName(in.Rollout.Name, now, in.Sets)
	d.Create = NewSet(in.Rollout, name, v1alpha1.SnapshotScheduled)
	d.Events = append(d.Events, event.Event{Type: corev1.EventTypeNormal, Reason: ReasonSnapshotStarted,
		Message: fmt.Sprintf("Taking snapshot set %s, scheduled at %s by %q", name, due.Format(time.RFC3339), spec.Schedule)})
	d.RequeueAfter = schedule.Next(due).Sub(now)
}
