package replication

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// failover promotes a secondary when the single primary has not run in its
// role for failover.afterSeconds. The rules, each because breaking it
// makes two primaries take writes or loses acknowledged ones:
//   - never while the old primary may still run: it is down only when its
//     pod is gone or new, its stop hook succeeded, or its node's fencing
//     was confirmed; a primary on a NotReady node without that waits;
//   - the candidate with the highest sequence wins, asked of every
//     healthy secondary once the failover is recorded (a lower one would
//     lose the writes the higher one has);
//   - the decision is in status (promotion) before any promoting hook runs.
//
// It also keeps status.replication.primaryLostAt, from which it counts.
func (d *decider) failover() {
	primary := d.singlePrimary()
	if primary == nil {
		return
	}
	if primary.State == v1alpha1.MemberRunning && primary.Joined {
		d.st.PrimaryLostAt = nil
		return
	}
	if d.st.PrimaryLostAt == nil {
		now := metavOf(d.in.Now)
		d.st.PrimaryLostAt = &now
	}
	spec := d.in.Spec.Failover
	if spec == nil || !spec.Enabled || d.st.Promotion != nil {
		return
	}
	at := d.st.PrimaryLostAt.Add(spec.AfterOrDefault())
	if d.in.Now.Before(at) {
		d.wake(at.Sub(d.in.Now))
		return
	}
	if why := d.mayStillRun(primary); why != "" {
		d.blocked = append(d.blocked, fmt.Sprintf("not failing over from %s: %s", primary.Name, why))
		return
	}
	candidates := d.failoverCandidates()
	if len(candidates) == 0 {
		d.blocked = append(d.blocked, fmt.Sprintf("not failing over from %s: no secondary is joined and healthy", primary.Name))
		return
	}
	for _, m := range candidates {
		m.Sequence = nil
	}
	d.st.Promotion = &v1alpha1.Promotion{Reason: v1alpha1.PromotionFailover, From: primary.Name, FromIncarnation: primary.Incarnation, StartedAt: metavOf(d.in.Now)}
	d.event(eventWarning, ReasonFailoverStart, "%s has not run as primary for %s and is down: asking %s for their sequence", primary.Name, spec.AfterOrDefault(), names(candidates))
	d.chooseFailoverTarget()
}

// singlePrimary is the one member with the primary role, when the set has
// a single primary; nil otherwise.
func (d *decider) singlePrimary() *v1alpha1.ReplicationMember {
	if d.in.Spec.PrimariesOrDefault() != 1 {
		return nil
	}
	for _, m := range d.members() {
		if m.Role == v1alpha1.RolePrimary {
			return m
		}
	}
	return nil
}

// mayStillRun says why the primary's application may still run; "" when
// it certainly does not. A primary still joined in a pod that runs is
// stopped with its stop hook first.
func (d *decider) mayStillRun(m *v1alpha1.ReplicationMember) string {
	pod, ok := d.pod(m.Name)
	if !ok {
		return ""
	}
	if node, known := d.in.Nodes[pod.Node]; known && !node.Ready {
		record := d.fencing(pod.Node)
		switch {
		case record != nil && record.State == v1alpha1.FencingConfirmed:
			return ""
		case d.in.Spec.Fencing == nil:
			return fmt.Sprintf("its node %s is NotReady and spec.replication.fencing is not set: nothing confirms it is powered off, so nothing is force-deleted", pod.Node)
		case record == nil:
			return fmt.Sprintf("its node %s is NotReady; its fencing is asked for after %s", pod.Node, d.in.Spec.Fencing.AfterOrDefault())
		default:
			return fmt.Sprintf("its node %s is NotReady and not fenced", pod.Node)
		}
	}
	if !m.Joined && m.State == v1alpha1.MemberStopped {
		return ""
	}
	d.start(m, HookStop)
	why := "stopping it first"
	if m.LastError != "" {
		why += " (" + m.LastError + ")"
	}
	return why
}

// failoverCandidates are the secondaries a failover may promote: joined,
// healthy, their pods running on Ready nodes and staying.
func (d *decider) failoverCandidates() []*v1alpha1.ReplicationMember {
	var out []*v1alpha1.ReplicationMember
	for _, m := range d.members() {
		if m.Role == v1alpha1.RoleSecondary && m.Joined && m.State == v1alpha1.MemberRunning && d.runnable(m.Name) && !d.in.Leaving[m.Name] {
			out = append(out, m)
		}
	}
	return out
}

// chooseFailoverTarget asks every candidate for its sequence and, once
// all answered, records the one to promote: the highest sequence, then
// the lowest ordinal.
func (d *decider) chooseFailoverTarget() {
	candidates := d.failoverCandidates()
	if len(candidates) == 0 {
		d.blocked = append(d.blocked, fmt.Sprintf("failing over from %s: no secondary is joined and healthy any more", d.st.Promotion.From))
		return
	}
	var waiting []string
	for _, m := range candidates {
		if m.Sequence == nil {
			d.start(m, HookSequence)
			waiting = append(waiting, m.Name)
		}
	}
	if len(waiting) > 0 {
		d.blocked = append(d.blocked, fmt.Sprintf("failing over from %s: waiting for the sequence of %s", d.st.Promotion.From, strings.Join(waiting, ", ")))
		return
	}
	slices.SortStableFunc(candidates, func(a, b *v1alpha1.ReplicationMember) int {
		if *a.Sequence != *b.Sequence {
			if *a.Sequence > *b.Sequence {
				return -1
			}
			return 1
		}
		return int(d.ordinal(a.Name) - d.ordinal(b.Name))
	})
	target := candidates[0]
	d.st.Promotion.To = target.Name
	d.event(eventWarning, ReasonFailoverChosen, "promoting %s, the highest sequence of %s, in place of %s", target.Name, d.sequences(candidates), d.st.Promotion.From)
	d.promote()
}

func names(members []*v1alpha1.ReplicationMember) string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.Name
	}
	return strings.Join(out, ", ")
}
