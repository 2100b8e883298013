package replication

import (
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// HookKind names one of the application owner's hooks.
type HookKind int

const (
	HookSequence HookKind = iota + 1
	HookSeed
	HookPrimary
	HookSecondary
	HookStop
	HookStatus
	HookSwitchover
	HookFence
	// HookFreeze and HookThaw are run by the snapshot set decider
	// (internal/snapshot) around the cut of a set's volume snapshots.
	HookFreeze
	HookThaw
)

func (k HookKind) String() string {
	switch k {
	case HookSequence:
		return "sequence"
	case HookSeed:
		return "seed"
	case HookPrimary:
		return "primary"
	case HookSecondary:
		return "secondary"
	case HookStop:
		return "stop"
	case HookStatus:
		return "status"
	case HookSwitchover:
		return "switchover"
	case HookFence:
		return "fence"
	case HookFreeze:
		return "freeze"
	case HookThaw:
		return "thaw"
	}
	return "unknown"
}

// joins reports whether a hook of kind starts a member in its role.
func joins(kind HookKind) bool {
	return kind == HookSeed || kind == HookPrimary || kind == HookSecondary
}

// Backoff of a hook that failed n times in a row: 5s, 10s, 20s … up to 5m,
// so a broken hook is retried, never in a tight loop.
const (
	backoffBase = 5 * time.Second
	backoffMax  = 5 * time.Minute
)

func backoff(failures int32) time.Duration {
	wait := backoffBase
	for i := int32(1); i < failures && wait < backoffMax; i++ {
		wait *= 2
	}
	return min(wait, backoffMax)
}

// hook is the spec of a kind; nil when the spec has none.
func (d *decider) hook(kind HookKind) *v1alpha1.Hook {
	hooks := &d.in.Spec.Hooks
	switch kind {
	case HookSequence:
		return &hooks.Sequence
	case HookSeed:
		return &hooks.Seed
	case HookPrimary:
		return hooks.Primary
	case HookSecondary:
		return hooks.Secondary
	case HookStop:
		return &hooks.Stop
	case HookStatus:
		return &hooks.Status.Hook
	case HookSwitchover:
		return hooks.Switchover
	case HookFence:
		return hooks.Fence
	}
	return nil
}

// due reports whether a hook may start on m now: its pod runs, no hook runs
// there (one at a time per member), and the backoff of its failures, or the
// status hook's period, has passed. A hook not due yet sets the requeue.
func (d *decider) due(m *v1alpha1.ReplicationMember, kind HookKind) bool {
	if !d.runnable(m.Name) {
		return false
	}
	wait := time.Duration(0)
	if m.Failures > 0 {
		wait = backoff(m.Failures)
	}
	if kind == HookStatus && m.State != v1alpha1.MemberStarting && !d.unconfirmed(m.Name) {
		// A member that just joined, or was just promoted, is checked at
		// once; then every period.
		wait = max(wait, d.in.Spec.Hooks.Status.PeriodOrDefault())
	}
	return d.slotFree(m.Name, wait)
}

// slotFree reports whether a hook or fencing call may start in slot (a
// member, or a node's fencing webhook): none runs there, none is started
// by this decision, and wait has passed since the last one finished.
func (d *decider) slotFree(slot string, wait time.Duration) bool {
	if d.in.Busy[slot] || d.starting(slot) {
		return false
	}
	last, ran := d.in.LastRun[slot]
	if !ran {
		return true
	}
	at := last.Add(wait)
	if d.in.Now.Before(at) {
		d.wake(at.Sub(d.in.Now))
		return false
	}
	return true
}

// start asks for kind on m if it is due, with args appended to its command.
// A join hook marks the member Starting in the status written before it runs.
func (d *decider) start(m *v1alpha1.ReplicationMember, kind HookKind, args ...string) bool {
	hook := d.hook(kind)
	if hook == nil || d.starting(m.Name) || !d.due(m, kind) {
		// One hook per member at a time: the runner refuses a second.
		return false
	}
	if joins(kind) {
		d.setState(m, v1alpha1.MemberStarting)
	}
	d.dec.Run = append(d.dec.Run, Run{
		Member: m.Name, Incarnation: m.Incarnation, Hook: kind,
		Command: append(append([]string{}, hook.Command...), args...),
		Timeout: hook.TimeoutOrDefault(), Recovery: d.recovery(),
	})
	return true
}

// recovery is the recovery in progress, as status records it; zero when none.
func (d *decider) recovery() time.Time {
	if d.st.RecoveryStartedAt == nil {
		return time.Time{}
	}
	return d.st.RecoveryStartedAt.Time
}

// askedHere reports whether r's hook was asked for in the recovery in
// progress, or like it outside any. Whole seconds: status keeps
// recoveryStartedAt to the second, the decision that started it had it
// to the nanosecond.
func (d *decider) askedHere(r Result) bool {
	now := d.recovery()
	if now.IsZero() || r.Recovery.IsZero() {
		return now.IsZero() == r.Recovery.IsZero()
	}
	return now.Unix() == r.Recovery.Unix()
}

// starting reports whether this decision already starts a hook in slot.
func (d *decider) starting(slot string) bool {
	for _, run := range d.dec.Run {
		if run.Slot() == slot {
			return true
		}
	}
	return false
}

func (d *decider) wake(after time.Duration) {
	if after > 0 && (d.dec.RequeueAfter == 0 || after < d.dec.RequeueAfter) {
		d.dec.RequeueAfter = after
	}
}

// join starts m in its role with the active primaries as arguments.
func (d *decider) join(m *v1alpha1.ReplicationMember) {
	kind := HookSecondary
	if m.Role == v1alpha1.RolePrimary {
		kind = HookPrimary
	}
	d.start(m, kind, d.activePrimaries()...)
}

// checkStatus runs the status hook on a joined member every period, with
// the role it should have: after a switchover or failover, the new roles
// are confirmed by these hooks passing.
func (d *decider) checkStatus(m *v1alpha1.ReplicationMember) {
	if m.Joined {
		d.start(m, HookStatus, roleArgument(m.Role))
	}
}

// roleArgument is a role as hooks are given it: "primary" or "secondary".
func roleArgument(role v1alpha1.MemberRole) string {
	if role == v1alpha1.RolePrimary {
		return "primary"
	}
	return "secondary"
}
