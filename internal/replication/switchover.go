package replication

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// A promotion moves the primary role, for a rollout (switchover) or after
// the primary was lost (failover). Its order, each step recorded in status
// before the next effect:
//  1. status.replication.promotion names the primary it replaces and the
//     member it promotes; roles are unchanged;
//  2. the promoting hook runs on that member (switchover, or the seed hook
//     for a failover without one), the replaced primary's address appended;
//  3. once it succeeded the roles change (promotedAt): the member is the
//     primary, every other member a secondary; the old primary is held
//     (neither checked nor joined: it was demoted, or is down);
//  4. once the new primary's status hook passed as primary (confirmedAt),
//     the other secondaries are joined again with its address (the
//     secondary hook repoints them); a switchover's old primary may now be
//     stopped and replaced, and rejoins as a secondary;
//  5. the record is cleared when a failover is confirmed, and when a
//     switchover's old primary was replaced (or, when the rollout does
//     not replace it, once it is joined again as a secondary).

// promoting reports whether member is the one a promotion in progress promotes.
func (d *decider) promoting(member string) bool {
	p := d.st.Promotion
	return p != nil && p.To == member
}

// unconfirmed reports whether member was promoted and has not passed its
// status hook as primary yet.
func (d *decider) unconfirmed(member string) bool {
	p := d.st.Promotion
	return d.promoting(member) && p.PromotedAt != nil && p.ConfirmedAt == nil
}

// held reports whether m is the primary a promotion replaces, not yet
// free to be stopped or joined again.
func (d *decider) held(m *v1alpha1.ReplicationMember) bool {
	p := d.st.Promotion
	return p != nil && p.From == m.Name
}

// promote carries a recorded promotion on: it runs the promoting hook
// until it succeeded, and clears the record at its end.
func (d *decider) promote() {
	p := d.st.Promotion
	if p == nil {
		return
	}
	if p.To == "" {
		d.chooseFailoverTarget()
		return
	}
	to := d.member(p.To)
	if to == nil {
		d.st.Promotion = nil
		return
	}
	if p.PromotedAt == nil {
		kind := HookSwitchover
		if d.in.Spec.Hooks.Switchover == nil {
			kind = HookSeed
		}
		d.start(to, kind, d.address(p.From))
		return
	}
	if p.ConfirmedAt == nil {
		return
	}
	from := d.member(p.From)
	switch {
	case p.Reason == v1alpha1.PromotionFailover || from == nil || from.Incarnation != p.FromIncarnation:
		d.st.Promotion = nil
	case !d.in.Leaving[from.Name] && d.updated(from.Name):
		// The rollout will not replace it: it follows the new primary
		// where it is.
		from.Joined = false
		d.st.Promotion = nil
	}
}

// updated reports whether member's pod runs the rollout's update revision.
func (d *decider) updated(member string) bool {
	pod, _ := d.pod(member)
	return pod.Updated
}

// promoted changes the roles once the promoting hook succeeded on m.
func (d *decider) promoted(m *v1alpha1.ReplicationMember, at metav1.Time) {
	p := d.st.Promotion
	p.PromotedAt = &at
	for _, other := range d.members() {
		switch {
		case other == m:
			other.Role, other.Joined = v1alpha1.RolePrimary, true
			other.LastError, other.Failures = "", 0
		case other.Name == p.From && p.Reason == v1alpha1.PromotionFailover:
			other.Role, other.Joined = v1alpha1.RoleSecondary, false
		default:
			other.Role = v1alpha1.RoleSecondary
		}
	}
}

// confirmed records the new primary's first passing status hook as
// primary: the other secondaries are joined again, to follow it.
func (d *decider) confirmed(m *v1alpha1.ReplicationMember, at metav1.Time) {
	p := d.st.Promotion
	p.ConfirmedAt = &at
	for _, other := range d.members() {
		if other != m && other.Name != p.From {
			other.Joined = false
		}
	}
	d.event(eventNormal, ReasonPromoted, "%s is primary after a %s from %s: its status hook passed as primary", m.Name, lowerReason(p.Reason), p.From)
}

// switchover hands the role of a leaving primary to a healthy secondary;
// it reports whether the primary is still handing over (and must not be
// stopped yet). Only a single primary with a switchover hook hands over:
// several primaries keep serving while one is replaced.
func (d *decider) switchover(primary *v1alpha1.ReplicationMember) bool {
	if d.in.Spec.PrimariesOrDefault() != 1 || d.in.Spec.Hooks.Switchover == nil || !primary.Joined {
		return false
	}
	if p := d.st.Promotion; p != nil {
		return p.From == primary.Name
	}
	if !d.anyStays(primary) {
		// Every member leaves (a scale to zero, a restore): there is no one
		// to hand the role to, and the primary is stopped like the others.
		return false
	}
	target := d.switchoverTarget()
	if target == nil {
		d.blocked = append(d.blocked, primary.Name+" waits to hand the primary role over: no secondary is joined and healthy")
		return true
	}
	now := metavOf(d.in.Now)
	d.st.Promotion = &v1alpha1.Promotion{Reason: v1alpha1.PromotionSwitchover, From: primary.Name, FromIncarnation: primary.Incarnation, To: target.Name, StartedAt: now}
	d.event(eventNormal, ReasonSwitchoverStart, "switching the primary role from %s to %s before %s is replaced", primary.Name, target.Name, primary.Name)
	d.promote()
	return true
}

// anyStays reports whether a member other than primary stays in the set:
// a rollout's members come back in new pods, while a scale to zero or a
// restore (which scales to zero first) leaves none to hand the role to.
func (d *decider) anyStays(primary *v1alpha1.ReplicationMember) bool {
	for _, m := range d.members() {
		if m.Name != primary.Name && d.ordinal(m.Name) < d.in.Replicas {
			return true
		}
	}
	return false
}

// switchoverTarget is the secondary that takes the role: joined, healthy,
// its pod running and staying; one the rollout already updated first (it
// will not be replaced again, so the rollout switches over once), then the
// lowest ordinal.
func (d *decider) switchoverTarget() *v1alpha1.ReplicationMember {
	var candidates []*v1alpha1.ReplicationMember
	for _, m := range d.members() {
		if m.Role == v1alpha1.RoleSecondary && m.Joined && m.State == v1alpha1.MemberRunning && d.runnable(m.Name) && !d.in.Leaving[m.Name] {
			candidates = append(candidates, m)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	updated := func(m *v1alpha1.ReplicationMember) bool { return d.updated(m.Name) }
	slices.SortStableFunc(candidates, func(a, b *v1alpha1.ReplicationMember) int {
		if updated(a) != updated(b) {
			if updated(a) {
				return -1
			}
			return 1
		}
		return int(d.ordinal(a.Name) - d.ordinal(b.Name))
	})
	return candidates[0]
}

// mayStopPrimaries picks the leaving primaries that may be stopped now
// when there are several: never so many at once that fewer than a majority
// of them stay healthy (with 2, one at a time: a majority of 2 is both, and
// no rollout could go on). Primaries already down count against it. It is
// a filter on the rollout's batch, like the stop handover: a primary it
// holds is not stopped, so the planner does not delete it yet, and the
// rollout's maxUnavailable still bounds the batch.
func (d *decider) mayStopPrimaries() map[string]bool {
	primaries := d.in.Spec.PrimariesOrDefault()
	allowed := map[string]bool{}
	if primaries == 1 {
		return nil
	}
	budget := max(1, (primaries-1)/2)
	var leaving []*v1alpha1.ReplicationMember
	for _, m := range d.st.Members {
		if m.Role != v1alpha1.RolePrimary {
			continue
		}
		switch {
		case d.in.Leaving[m.Name]:
			leaving = append(leaving, &m)
		case m.State != v1alpha1.MemberRunning:
			budget--
		}
	}
	// The rollout's own order: highest ordinal first.
	slices.SortFunc(leaving, func(a, b *v1alpha1.ReplicationMember) int { return int(d.ordinal(b.Name) - d.ordinal(a.Name)) })
	for _, m := range leaving {
		if budget <= 0 {
			d.blocked = append(d.blocked, fmt.Sprintf("%s waits to stop: a majority of the %d primaries must stay healthy", m.Name, primaries))
			continue
		}
		allowed[m.Name] = true
		budget--
	}
	return allowed
}

func lowerReason(r v1alpha1.PromotionReason) string {
	if r == v1alpha1.PromotionFailover {
		return "failover"
	}
	return "switchover"
}
