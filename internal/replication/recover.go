package replication

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// recover walks a bootstrap or a recovery (no primary active): ask every member for
// its sequence, seed the newest once the quorum answered, then join the
// others to it. The safety rules, each because breaking it loses
// acknowledged writes:
//   - never seed while a primary is active (it may be taking writes: two
//     primaries diverge);
//   - never seed before the quorum answered (a copy that did not answer may
//     be the newest);
//   - never seed below a higher reported sequence;
//   - one seed per recovery: it is written to status before its hook runs
//     and kept until the recovery ends, whatever restarts in between.
func (d *decider) recover() {
	phase := v1alpha1.ReplicationRecovering
	if !d.bootstrapped() || d.st.Phase == v1alpha1.ReplicationBootstrapping {
		phase = v1alpha1.ReplicationBootstrapping
	}
	if d.st.Seed == "" && !d.chooseSeed(phase) {
		return
	}
	d.st.Phase = phase
	seed := d.member(d.st.Seed)
	if seed == nil || !seed.Joined {
		if seed != nil && !d.in.Leaving[seed.Name] {
			// A seed whose pod is about to go is seeded in its next pod.
			d.start(seed, HookSeed)
		}
		d.st.Message = fmt.Sprintf("seeding %s%s", d.st.Seed, sequenceOf(seed))
		return
	}
	d.checkStatus(seed)
	if seed.State != v1alpha1.MemberRunning {
		d.st.Message = fmt.Sprintf("seeded %s%s; waiting for its status hook to pass", d.st.Seed, sequenceOf(seed))
		return
	}
	// The primaries join first, so that every secondary is given them all.
	primariesRun := true
	for _, m := range d.members() {
		if m.Role == v1alpha1.RolePrimary && m.State != v1alpha1.MemberRunning {
			primariesRun = false
		}
	}
	var joining []string
	for _, m := range d.members() {
		if m.Joined && m.State == v1alpha1.MemberRunning {
			d.checkStatus(m)
			continue
		}
		joining = append(joining, m.Name)
		switch {
		case m.Joined:
			d.checkStatus(m)
		case d.in.Leaving[m.Name]:
		case m.Role == v1alpha1.RolePrimary || primariesRun:
			d.join(m)
		}
	}
	if len(joining) > 0 {
		d.st.Message = fmt.Sprintf("seeded %s%s; joining %s", d.st.Seed, sequenceOf(seed), strings.Join(joining, ", "))
		return
	}
	d.st.RecoveryStartedAt = nil
	d.healthy(fmt.Sprintf("%s from %s", strings.ToLower(string(phase)), d.st.Seed))
}

// chooseSeed asks for the sequences and, once the quorum answered, records
// the seed and every member's role. It reports whether a seed is recorded.
func (d *decider) chooseSeed(phase v1alpha1.ReplicationPhase) bool {
	members := d.members()
	for _, m := range members {
		if m.Role == v1alpha1.RolePrimary && m.State == v1alpha1.MemberRunning {
			d.st.Phase = phase
			d.st.Message = fmt.Sprintf("not seeding: %s reports healthy as primary", m.Name)
			return false
		}
	}
	if phase == v1alpha1.ReplicationBootstrapping {
		var waiting []string
		for _, m := range members {
			if pod, ok := d.pod(m.Name); !ok || !pod.Running {
				waiting = append(waiting, m.Name)
			}
		}
		if len(waiting) > 0 {
			d.st.Phase = phase
			d.st.Message = "waiting for every pod to run before bootstrapping: " + strings.Join(waiting, ", ")
			return false
		}
	}
	var answered, unanswered []*v1alpha1.ReplicationMember
	var silent []string
	for _, m := range members {
		if m.Sequence != nil {
			answered = append(answered, m)
			continue
		}
		unanswered = append(unanswered, m)
		why := m.Name
		if m.LastError != "" {
			why += " (" + m.LastError + ")"
		}
		silent = append(silent, why)
	}
	quorum := d.in.Spec.Recovery.QuorumOrDefault()
	need := len(members)
	if quorum == v1alpha1.QuorumMajority {
		need = len(members)/2 + 1
	}
	if len(answered) < need || len(answered) == 0 {
		for _, m := range unanswered {
			d.start(m, HookSequence)
		}
		d.waitForQuorum(phase, quorum, len(answered), len(members), silent)
		return false
	}
	slices.SortStableFunc(answered, d.newerFirst)
	seed := answered[0]
	why := "the highest sequence"
	if len(answered) > 1 && *answered[1].Sequence == *seed.Sequence {
		why = "tied for the highest sequence, the lowest ordinal"
		if seed.Role == v1alpha1.RolePrimary && answered[1].Role != v1alpha1.RolePrimary {
			why = "tied for the highest sequence, primary most recently"
		}
	}
	d.st.Seed = seed.Name
	primaries := d.in.Spec.PrimariesOrDefault() - 1
	for _, m := range members {
		// Every member starts again in its new role, a secondary that still
		// runs too: it followed a primary that is gone (and the seed hook of
		// a running secondary promotes it).
		m.Joined = false
		switch {
		case m == seed:
			m.Role = v1alpha1.RolePrimary
		case primaries > 0:
			m.Role = v1alpha1.RolePrimary
			primaries--
		default:
			m.Role = v1alpha1.RoleSecondary
		}
	}
	d.event(eventNormal, ReasonSeedChosen, "seeding %s, %s, of %s (quorum %s)", seed.Name, why, d.sequences(members), quorum)
	return true
}

// newerFirst orders the seed candidates: the highest sequence; on a tie the
// member that was primary most recently according to status (a primary's
// copy is where writes were acknowledged), then the lowest ordinal.
func (d *decider) newerFirst(a, b *v1alpha1.ReplicationMember) int {
	if *a.Sequence != *b.Sequence {
		if *a.Sequence > *b.Sequence {
			return -1
		}
		return 1
	}
	aPrimary, bPrimary := a.Role == v1alpha1.RolePrimary, b.Role == v1alpha1.RolePrimary
	if aPrimary != bPrimary {
		if aPrimary {
			return -1
		}
		return 1
	}
	if aPrimary && a.LastTransitionTime != nil && b.LastTransitionTime != nil && !a.LastTransitionTime.Equal(b.LastTransitionTime) {
		if a.LastTransitionTime.After(b.LastTransitionTime.Time) {
			return -1
		}
		return 1
	}
	return int(d.ordinal(a.Name) - d.ordinal(b.Name))
}

// waitForQuorum says who has not answered; past recovery.timeoutSeconds the
// phase is Degraded, and sroll keeps asking: it never guesses.
func (d *decider) waitForQuorum(phase v1alpha1.ReplicationPhase, quorum v1alpha1.Quorum, answered, members int, silent []string) {
	status := fmt.Sprintf("%d of %d members reported a sequence (quorum %s); no sequence from %s", answered, members, quorum, strings.Join(silent, ", "))
	timeout := d.in.Spec.Recovery.TimeoutOrDefault()
	deadline := d.st.RecoveryStartedAt.Add(timeout)
	if d.in.Now.Before(deadline) {
		d.st.Phase = phase
		d.st.Message = "waiting for sequences: " + status
		d.wake(deadline.Sub(d.in.Now))
		return
	}
	if d.st.Phase != v1alpha1.ReplicationDegraded {
		d.event(eventWarning, ReasonQuorumTimedOut, "no seed after %s: %s", timeout, status)
	}
	d.st.Phase = v1alpha1.ReplicationDegraded
	d.st.Message = fmt.Sprintf("no quorum after %s, not seeding: %s", timeout, status)
}

// sequences is "kv-0=1000 kv-1=1077 kv-2=?" for the status and the Event.
func (d *decider) sequences(members []*v1alpha1.ReplicationMember) string {
	parts := make([]string, 0, len(members))
	for _, m := range members {
		value := "?"
		if m.Sequence != nil {
			value = fmt.Sprint(*m.Sequence)
		}
		parts = append(parts, m.Name+"="+value)
	}
	return strings.Join(parts, " ")
}

func sequenceOf(m *v1alpha1.ReplicationMember) string {
	if m == nil || m.Sequence == nil {
		return ""
	}
	return fmt.Sprintf(" (sequence %d)", *m.Sequence)
}
