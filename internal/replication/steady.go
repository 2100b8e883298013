package replication

import (
	"fmt"
	"strings"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// steady keeps a running set running: the status hook on every joined
// member, a recreated member rejoined in its role, a new one (scale-up)
// given a role and joined, a leaving one stopped before its pod goes.
func (d *decider) steady() {
	var notRunning []string
	for i := range d.st.Members {
		m := &d.st.Members[i]
		if stopped, leaving := d.leave(m); leaving {
			if stopped {
				notRunning = append(notRunning, m.Name+" stopped to leave")
			} else {
				notRunning = append(notRunning, m.Name+" stopping to leave")
			}
			continue
		}
		switch {
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
	if len(notRunning) == 0 {
		d.healthy("")
		return
	}
	d.st.Phase = v1alpha1.ReplicationDegraded
	d.st.Message = "not every member runs: " + strings.Join(notRunning, ", ")
}

// leave stops a member that is leaving (its pod is to be deleted, or a
// scale-down or a restore removes it) before its pod goes: it reports
// whether the member is leaving and whether it is stopped already.
func (d *decider) leave(m *v1alpha1.ReplicationMember) (stopped, leaving bool) {
	if !d.in.Leaving[m.Name] && d.ordinal(m.Name) < d.in.Replicas {
		return false, false
	}
	if d.stopped(m) {
		d.dec.Stopped[m.Name] = true
		return true, true
	}
	d.start(m, HookStop)
	return false, true
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
