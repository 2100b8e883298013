package replication

import (
	"fmt"
	"strings"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// steady keeps a running set running: the status hook on every joined
// member, a recreated member rejoined in its role, a new one (scale-up)
// given a role and joined, a leaving one stopped before its pod goes (a
// leaving primary hands its role over first, or waits while stopping it
// would leave too few primaries).
func (d *decider) steady() {
	var notRunning []string
	mayStop := d.mayStopPrimaries()
	for i := range d.st.Members {
		m := &d.st.Members[i]
		if d.leaving(m) {
			p := d.st.Promotion
			handingOver := d.held(m) && p.ConfirmedAt == nil
			if p == nil && m.Role == v1alpha1.RolePrimary {
				handingOver = d.switchover(m)
			}
			switch {
			case handingOver:
				// Its status hook would fail as soon as the switchover
				// demotes it, and it is stopped next: it is not checked.
				notRunning = append(notRunning, m.Name+" handing the primary role to "+d.promotionTarget())
				continue
			case mayStop != nil && m.Role == v1alpha1.RolePrimary && !mayStop[m.Name] && !d.stopped(m):
				d.checkStatus(m)
				continue
			}
			if d.leave(m) {
				notRunning = append(notRunning, m.Name+" stopped to leave")
			} else {
				notRunning = append(notRunning, m.Name+" stopping to leave")
			}
			continue
		}
		switch {
		case d.held(m):
			// Its role is being taken over: it is demoted or down, and
			// must not come back as primary; a rollout replaces it.
		case m.Joined:
			d.checkStatus(m)
		case m.Role != v1alpha1.RolePrimary && len(d.activePrimaries()) == 0:
			// A secondary follows a primary: it waits for one to run.
		default:
			if m.Role == v1alpha1.RoleNone {
				m.Role = d.newRole()
			}
			d.join(m)
		}
		if m.State != v1alpha1.MemberRunning {
			why := fmt.Sprintf("%s %s", m.Name, strings.ToLower(string(m.State)))
			if m.LastError != "" {
				why += " (" + m.LastError + ")"
			}
			notRunning = append(notRunning, why)
		}
	}
	if len(notRunning) == 0 && len(d.blocked) == 0 && d.st.Promotion == nil {
		d.healthy("")
		return
	}
	d.st.Phase = v1alpha1.ReplicationDegraded
	var parts []string
	if len(notRunning) > 0 {
		parts = append(parts, "not every member runs: "+strings.Join(notRunning, ", "))
	}
	d.st.Message = strings.Join(append(parts, d.blocked...), "; ")
}

// promotionTarget names the member a promotion in progress promotes.
func (d *decider) promotionTarget() string {
	if p := d.st.Promotion; p != nil && p.To != "" {
		return p.To
	}
	return "a secondary"
}

// leaving reports whether a member's pod is to be deleted, or a scale-down
// or a restore removes it.
func (d *decider) leaving(m *v1alpha1.ReplicationMember) bool {
	return d.in.Leaving[m.Name] || d.ordinal(m.Name) >= d.in.Replicas
}

// leave stops a leaving member before its pod goes; it reports whether the
// member is stopped already.
func (d *decider) leave(m *v1alpha1.ReplicationMember) (stopped bool) {
	if d.stopped(m) {
		d.dec.Stopped[m.Name] = true
		return true
	}
	d.start(m, HookStop)
	return false
}

// stopped reports whether a leaving member's application is down: its stop
// hook succeeded, it never joined, or its pod does not run at all.
func (d *decider) stopped(m *v1alpha1.ReplicationMember) bool {
	if pod, ok := d.pod(m.Name); !ok || !pod.Running {
		return true
	}
	return !m.Joined && m.State == v1alpha1.MemberStopped
}

// newRole is a new member's: primary while fewer than spec.primaries are.
func (d *decider) newRole() v1alpha1.MemberRole {
	var primaries int32
	for _, m := range d.members() {
		if m.Role == v1alpha1.RolePrimary {
			primaries++
		}
	}
	if primaries < d.in.Spec.PrimariesOrDefault() {
		return v1alpha1.RolePrimary
	}
	return v1alpha1.RoleSecondary
}

// healthy is the phase once every member runs in its role.
func (d *decider) healthy(how string) {
	if d.st.Phase != v1alpha1.ReplicationHealthy {
		message := "every member runs in its role"
		if how != "" {
			message += ": " + how
		}
		d.event(eventNormal, ReasonReplicationReady, "%s", message)
	}
	d.st.Phase = v1alpha1.ReplicationHealthy
	var primaries, secondaries []string
	for _, m := range d.members() {
		if m.Role == v1alpha1.RolePrimary {
			primaries = append(primaries, m.Name)
		} else {
			secondaries = append(secondaries, m.Name)
		}
	}
	d.st.Message = "primaries " + strings.Join(primaries, ", ")
	if len(secondaries) > 0 {
		d.st.Message += "; secondaries " + strings.Join(secondaries, ", ")
	}
}
