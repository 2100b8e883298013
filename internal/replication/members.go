package replication

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
)

const (
	eventNormal  = corev1.EventTypeNormal
	eventWarning = corev1.EventTypeWarning
)

func metavOf(t time.Time) metav1.Time { return metav1.NewTime(t) }

func (d *decider) name(ordinal int32) string { return fmt.Sprintf("%s-%d", d.in.Set, ordinal) }

// ordinal reads a member's ordinal from its name; -1 when it has none.
func (d *decider) ordinal(name string) int32 {
	n, err := strconv.ParseInt(strings.TrimPrefix(name, d.in.Set+"-"), 10, 32)
	if err != nil {
		return -1
	}
	return int32(n)
}

// address is where the other members reach a member.
func (d *decider) address(name string) string {
	return fmt.Sprintf("%s.%s.%s.svc", name, d.in.Service, d.in.Namespace)
}

func (d *decider) event(kind, reason, format string, args ...any) {
	d.dec.Events = append(d.dec.Events, event.Event{Type: kind, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

// fold writes the hook results into the members they ran on. A result from
// an earlier incarnation says nothing about the pod that runs now.
func (d *decider) fold() {
	for _, r := range d.in.Results {
		if r.Hook == HookFence {
			d.fenceAnswered(r)
			continue
		}
		m := d.member(r.Member)
		if m == nil || m.Incarnation != r.Incarnation {
			continue
		}
		if !d.askedHere(r) && (r.Hook == HookSequence || joins(r.Hook)) {
			// Asked before this recovery, answered in it (a lights-out
			// is seen pod by pod, and a join started on the last view of
			// the old set runs on), or the other way round: a join
			// followed a primary of a set that is gone, and a recovery
			// seeds from the sequences reported since it started
			// (startRecovery). So the member is not joined, and is asked
			// again: for its sequence, then to follow this recovery's seed.
			if joins(r.Hook) && !m.Joined {
				d.setState(m, v1alpha1.MemberStopped)
			}
			continue
		}
		if r.failed() {
			d.failed(m, r)
			continue
		}
		m.Failures = 0
		switch r.Hook {
		case HookSequence:
			n, err := strconv.ParseInt(strings.TrimSpace(r.Stdout), 10, 64)
			if err != nil {
				r.Err = fmt.Sprintf("printed %q, not one integer", tail(strings.TrimSpace(r.Stdout), 64))
				d.failed(m, r)
				continue
			}
			if d.st.Seed != "" && d.st.RecoveryStartedAt != nil {
				// Under quorum Majority a member may answer after the seed
				// was chosen: the seed stays (one per recovery), and the
				// late answer is told, not recorded as one the seed beat.
				d.event(eventWarning, ReasonLateSequence, "%s reported sequence %d after %s was seeded", m.Name, n, d.st.Seed)
				continue
			}
			m.Sequence = &n
		case HookSeed, HookPrimary, HookSecondary:
			m.Joined = true
			if d.promoting(m.Name) && r.Hook == HookSeed {
				d.promoted(m, metavOf(r.Finished))
			}
		case HookSwitchover:
			if d.promoting(m.Name) {
				d.promoted(m, metavOf(r.Finished))
			}
		case HookStatus:
			if m.Joined {
				d.setState(m, v1alpha1.MemberRunning)
				m.LastError = ""
				if d.unconfirmed(m.Name) {
					d.confirmed(m, metavOf(r.Finished))
				}
			}
		case HookStop:
			m.Joined = false
			d.setState(m, v1alpha1.MemberStopped)
		}
	}
}

// failed records a hook failure: lastError, the count for the backoff, a
// warning Event; a join that failed leaves the member Stopped, a status
// hook that failed makes a joined member Failed.
func (d *decider) failed(m *v1alpha1.ReplicationMember, r Result) {
	m.LastError = r.Failure()
	m.Failures++
	d.event(eventWarning, ReasonHookFailed, "%s on %s", m.LastError, m.Name)
	switch r.Hook {
	case HookSeed, HookPrimary, HookSecondary, HookSwitchover:
		if !m.Joined {
			d.setState(m, v1alpha1.MemberStopped)
		}
	case HookStatus:
		if m.Joined {
			d.setState(m, v1alpha1.MemberFailed)
		}
	}
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// activePrimaries are the addresses the joining members are given: the
// primaries joined and passing their status hook, lowest ordinal first,
// whose pod still runs. A primary whose pod is terminating (a lights-out is
// seen one pod at a time) passed its last status hook but is going: a
// member joined to it could only fail, or give up its copy to follow it.
func (d *decider) activePrimaries() []string {
	var out []string
	for _, m := range d.st.Members {
		if pod, ok := d.pod(m.Name); ok && pod.Running && m.Role == v1alpha1.RolePrimary && m.State == v1alpha1.MemberRunning {
			out = append(out, d.address(m.Name))
		}
	}
	return out
}

// members lists the members below replicas, lowest ordinal first.
func (d *decider) members() []*v1alpha1.ReplicationMember {
	var out []*v1alpha1.ReplicationMember
	for i := range d.st.Members {
		if o := d.ordinal(d.st.Members[i].Name); o >= 0 && o < d.in.Replicas {
			out = append(out, &d.st.Members[i])
		}
	}
	return out
}
