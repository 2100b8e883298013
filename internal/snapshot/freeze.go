package snapshot

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
	"github.com/sroll-dev/sroll/internal/names"
	"github.com/sroll-dev/sroll/internal/replication"
)

// The freeze of a set's members, when its rollout has the replication
// hooks freeze and thaw, in the order the set decider takes it:
//
//  1. The set's first decision records status.freeze (every member, its
//     incarnation, the start: the freeze limit counts from here) and asks
//     for the freeze hook on every member. The status is written before a
//     hook runs.
//  2. VolumeSnapshots are created only once every member is frozen. A
//     freeze hook that fails, a member that is not running or is replaced,
//     or the limit passing first fails the set: no VolumeSnapshot is taken.
//  3. Once every VolumeSnapshot is cut (status.creationTime set: the
//     storage took its point-in-time copy; readyToUse may come much later,
//     after an upload, and the application need not wait for it), or the
//     set failed, the thaw is recorded (thawStartedAt) and the thaw hook
//     asked for on every member that may be frozen. A failed thaw is
//     retried with a backoff. The set is Ready only once every member is
//     thawed; a member still frozen at the limit fails the set.
//
// A restarted operator reads the record: a member whose freeze or thaw
// hook ran when it stopped (not busy, no result) is asked again; hooks
// must be idempotent.

// Event reasons of the freeze, on the set.
const (
	// ReasonFreezeStarted: the freeze was recorded; the freeze hooks start.
	ReasonFreezeStarted = "FreezeStarted"
	// ReasonFreezeFailed: a freeze hook failed, a member could not be
	// frozen, or the members were frozen longer than the limit.
	ReasonFreezeFailed = "FreezeFailed"
	// ReasonThawFailed: a thaw hook failed; it is retried.
	ReasonThawFailed = "ThawFailed"
	// ReasonThawed: every member is thawed.
	ReasonThawed = "Thawed"
)

// Backoff of a member's failed thaw: 2s, 4s … up to 30s. Short: the
// member takes no writes meanwhile.
const (
	thawRetryBase = 2 * time.Second
	thawRetryMax  = 30 * time.Second
)

// FreezeHooks are the rollout's freeze and thaw hooks; nil when it has none.
func FreezeHooks(rollout *v1alpha1.StatefulSetRollout) (freeze, thaw *v1alpha1.Hook) {
	if rollout == nil || rollout.Spec.Replication == nil {
		return nil, nil
	}
	hooks := rollout.Spec.Replication.Hooks
	return hooks.Freeze, hooks.Thaw
}

// Thawing reports whether a set that ended (Ready or Failed) still has
// members to thaw: its controller goes on with it until they are.
func Thawing(set *v1alpha1.RolloutSnapshot) bool {
	f := set.Status.Freeze
	return f != nil && f.ThawedAt == nil
}

// freezeState is what the freeze allows the rest of the set's decision.
type freezeState struct {
	// frozen: every member is frozen (or there is no freeze), so the
	// VolumeSnapshots may be created.
	frozen bool
	// over: every member is thawed (or there is no freeze), so the set
	// may be Ready.
	over bool
	// failure fails the set; empty when the freeze did not fail it.
	failure string
	// waiting says which members the freeze waits for, for the message.
	waiting string
}

// startFreeze records the freeze at the set's first decision, when its
// rollout has a freeze hook.
func (d *SetDecision) startFreeze(in SetInput) {
	if freeze, _ := FreezeHooks(in.Rollout); freeze == nil {
		return
	}
	rec := &v1alpha1.SnapshotFreeze{StartedAt: metav1.NewTime(in.Now), TimeoutSeconds: in.Rollout.Spec.Snapshots.FreezeTimeoutOrDefault()}
	for _, v := range d.Status.Volumes {
		if len(rec.Members) > 0 && rec.Members[len(rec.Members)-1].Name == v.Member {
			continue
		}
		rec.Members = append(rec.Members, v1alpha1.FrozenMember{Name: v.Member, Incarnation: in.Members[v.Member].Incarnation})
	}
	d.Status.Freeze = rec
	d.event(corev1.EventTypeNormal, ReasonFreezeStarted, "Freezing %d members before their volume snapshots, for at most %ds", len(rec.Members), rec.TimeoutSeconds)
}

// observeFreeze records the freeze and thaw hooks that finished and the
// members whose pod went, and says what the freeze allows.
func (d *SetDecision) observeFreeze(in SetInput) freezeState {
	f := d.Status.Freeze
	if f == nil || f.ThawedAt != nil {
		return freezeState{frozen: true, over: true}
	}
	now := metav1.NewTime(in.Now)
	for _, r := range in.HookResults {
		m := member(f, r.Member)
		if m == nil || r.Incarnation != m.Incarnation || m.ThawedAt != nil {
			continue
		}
		finished := metav1.NewTime(r.Finished)
		failure := r.Failure()
		switch {
		case r.Hook == replication.HookFreeze && failure == "":
			m.FrozenAt = &finished
		case r.Hook == replication.HookFreeze:
			m.FreezeFailed, m.LastError = true, failure
		case r.Hook == replication.HookThaw && failure == "":
			m.ThawedAt, m.LastError = &finished, ""
		case r.Hook == replication.HookThaw:
			m.ThawFailures++
			m.LastError, m.LastThawFailure = failure, &finished
			retry := fmt.Sprintf("retrying in %s", thawBackoff(m.ThawFailures))
			if m.FreezeFailed {
				retry = "not retried: its freeze failed too"
			}
			d.event(corev1.EventTypeWarning, ReasonThawFailed, "%s: %s; %s", m.Name, failure, retry)
		}
	}
	for i := range f.Members {
		m := &f.Members[i]
		if pod, ok := in.Members[m.Name]; m.ThawedAt == nil && (!ok || !pod.Running || pod.Incarnation != m.Incarnation) {
			// Nothing of a freeze outlives its process.
			if f.ThawStartedAt == nil && !m.FreezeFailed {
				m.FreezeFailed, m.LastError = true, "not running: its pod is gone, replaced or not started"
			}
			m.ThawedAt = &now
		}
	}
	deadline := f.StartedAt.Add(time.Duration(f.TimeoutSeconds) * time.Second)
	var notFrozen, notThawed, failed []string
	for _, m := range f.Members {
		if m.FrozenAt == nil {
			notFrozen = append(notFrozen, m.Name)
		}
		if m.ThawedAt == nil {
			notThawed = append(notThawed, m.Name)
		}
		if m.FreezeFailed {
			failed = append(failed, fmt.Sprintf("%s: %s", m.Name, m.LastError))
		}
	}
	s := freezeState{frozen: len(notFrozen) == 0 && len(failed) == 0, over: len(notThawed) == 0}
	switch {
	case f.ThawStartedAt == nil && len(failed) > 0:
		s.failure = fmt.Sprintf("could not freeze %s; no volume snapshot was taken", strings.Join(failed, "; "))
	case !in.Now.Before(deadline) && !s.over:
		switch {
		case f.ThawStartedAt != nil:
			s.failure = fmt.Sprintf("frozen longer than %ds: %s not thawed in time", f.TimeoutSeconds, names.Summary(notThawed))
		case len(notFrozen) > 0:
			s.failure = fmt.Sprintf("frozen longer than %ds: %s not frozen in time; no volume snapshot was cut", f.TimeoutSeconds, names.Summary(notFrozen))
		default:
			s.failure = fmt.Sprintf("frozen longer than %ds: the volume snapshots were not cut in time", f.TimeoutSeconds)
		}
	case len(notFrozen) > 0 && f.ThawStartedAt == nil:
		s.waiting = fmt.Sprintf("freezing: %d/%d members frozen", len(f.Members)-len(notFrozen), len(f.Members))
	case f.ThawStartedAt == nil:
		s.waiting = fmt.Sprintf("%d members frozen until the volume snapshots are cut", len(f.Members))
	case !s.over:
		s.waiting = fmt.Sprintf("thawing: %d/%d members thawed", len(f.Members)-len(notThawed), len(f.Members))
	}
	return s
}

// runFreeze decides the thaw and asks for the hooks the freeze needs now:
// the freeze on members not frozen yet, or, once the VolumeSnapshots are
// all cut or the set ended, the thaw on every member that may be frozen.
func (d *SetDecision) runFreeze(in SetInput, cut bool) {
	f := d.Status.Freeze
	if f == nil || f.ThawedAt != nil {
		return
	}
	now := metav1.NewTime(in.Now)
	ended := d.Status.Phase == v1alpha1.SnapshotFailed || d.Status.Phase == v1alpha1.SnapshotReady
	if f.ThawStartedAt == nil && (cut || ended) {
		if cut && !ended {
			f.CutAt = &now
		}
		f.ThawStartedAt = &now
	}
	freeze, thaw := FreezeHooks(in.Rollout)
	deadline := f.StartedAt.Add(time.Duration(f.TimeoutSeconds) * time.Second)
	if f.ThawStartedAt == nil {
		for _, m := range f.Members {
			if m.FrozenAt == nil && !m.FreezeFailed && m.ThawedAt == nil && !in.HookBusy[m.Name] && freeze != nil {
				// A freeze hook never outlasts the limit.
				timeout := min(hookTimeout(freeze), deadline.Sub(in.Now))
				d.Run = append(d.Run, hookRun(m, replication.HookFreeze, freeze, timeout))
			}
		}
		d.requeue(deadline.Sub(in.Now))
		return
	}
	var last time.Time
	for i := range f.Members {
		m := &f.Members[i]
		if m.ThawedAt != nil {
			last = laterOf(last, m.ThawedAt.Time)
			continue
		}
		if m.FreezeFailed && m.ThawFailures > 0 {
			// Its freeze failed, and so did the one thaw it is owed: it
			// may never have frozen, and a thaw of what is not frozen may
			// fail for ever.
			m.ThawedAt = &now
			last = laterOf(last, in.Now)
			continue
		}
		if in.HookBusy[m.Name] || thaw == nil {
			continue // its freeze (or thaw) hook still runs; the thaw follows
		}
		if m.LastThawFailure != nil {
			if wait := m.LastThawFailure.Add(thawBackoff(m.ThawFailures)).Sub(in.Now); wait > 0 {
				d.requeue(wait)
				continue
			}
		}
		d.Run = append(d.Run, hookRun(*m, replication.HookThaw, thaw, hookTimeout(thaw)))
	}
	if len(d.Run) == 0 && !slices.ContainsFunc(f.Members, func(m v1alpha1.FrozenMember) bool { return m.ThawedAt == nil }) {
		at := metav1.NewTime(laterOf(last, f.ThawStartedAt.Time))
		f.ThawedAt = &at
		d.event(corev1.EventTypeNormal, ReasonThawed, "%d members thawed, %s after the freeze started%s", len(f.Members),
			at.Sub(f.StartedAt.Time).Round(10*time.Millisecond), cutNote(f))
		return
	}
	if in.Now.Before(deadline) {
		d.requeue(deadline.Sub(in.Now))
	}
}

func cutNote(f *v1alpha1.SnapshotFreeze) string {
	if f.CutAt == nil {
		return " (no volume snapshot was cut)"
	}
	return fmt.Sprintf(" (volume snapshots cut after %s)", f.CutAt.Sub(f.StartedAt.Time).Round(10*time.Millisecond))
}

// FrozenFor is how long the set's members were frozen, from the freeze's
// start to the last thaw; false while they are not all thawed.
func FrozenFor(set *v1alpha1.RolloutSnapshot) (time.Duration, bool) {
	f := set.Status.Freeze
	if f == nil || f.ThawedAt == nil {
		return 0, false
	}
	return f.ThawedAt.Sub(f.StartedAt.Time), true
}

func member(f *v1alpha1.SnapshotFreeze, name string) *v1alpha1.FrozenMember {
	for i := range f.Members {
		if f.Members[i].Name == name {
			return &f.Members[i]
		}
	}
	return nil
}

func hookRun(m v1alpha1.FrozenMember, kind replication.HookKind, hook *v1alpha1.Hook, timeout time.Duration) replication.Run {
	return replication.Run{Member: m.Name, Incarnation: m.Incarnation, Hook: kind, Command: hook.Command, Timeout: max(timeout, time.Second)}
}

func hookTimeout(hook *v1alpha1.Hook) time.Duration {
	if hook.TimeoutSeconds == nil {
		return 30 * time.Second
	}
	return time.Duration(*hook.TimeoutSeconds) * time.Second
}

func thawBackoff(failures int32) time.Duration {
	wait := thawRetryBase
	for i := int32(1); i < failures && wait < thawRetryMax; i++ {
		wait *= 2
	}
	return min(wait, thawRetryMax)
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (d *SetDecision) event(kind, reason, format string, args ...any) {
	d.Events = append(d.Events, event.Event{Type: kind, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

// requeue asks to look again after wait at the latest.
func (d *SetDecision) requeue(wait time.Duration) {
	if wait > 0 && (d.RequeueAfter == 0 || wait < d.RequeueAfter) {
		d.RequeueAfter = wait
	}
}
