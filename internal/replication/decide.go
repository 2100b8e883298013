// Package replication decides the lifecycle of a replicated application
// through its hooks: which copy is seeded on day 1 and after a lights-out,
// how the other members join, which member is stopped before its pod goes,
// which members count as available, when the primary role is handed over
// (switchover) or taken over (failover), and when a NotReady node is fenced. It is a pure function of observed
// state, like internal/plan: the controller feeds it the pods, its last
// status and the hook results since, writes the status it returns and only
// then starts the hooks it asks for.
package replication

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
)

// Input is everything the decider looks at.
type Input struct {
	Spec v1alpha1.ReplicationSpec
	// Set is the StatefulSet's name: member i is {set}-{i}.
	Set string
	// Namespace and Service make the members' addresses: {pod}.{service}.{namespace}.svc.
	Namespace, Service string
	// Replicas is spec.replicas: the ordinals that are members.
	Replicas int32
	// Members are the StatefulSet's pods, in any order.
	Members []Member
	// Status is the last one written; nil before the first.
	Status *v1alpha1.ReplicationStatus
	// Results are the hooks that finished since the last decision.
	Results []Result
	// Busy names the members with a hook running: none is started there.
	Busy map[string]bool
	// LastRun is when each member's last hook finished, as the runner
	// remembers it (lost on restart: the next hook is then due at once).
	LastRun map[string]time.Time
	// Leaving names the members whose pod is to go: the rollout's batch and
	// the ordinals a scale-down removes. They are stopped, never joined.
	Leaving map[string]bool
	// Nodes are the nodes the members' pods are on and those
	// status.fencing names, by name. A member on a node missing here
	// counts as on a Ready node; a fencing record of one is dropped.
	Nodes map[string]Node
	Now   time.Time
}

// Node is what the decider reads of a node.
type Node struct {
	Ready bool
	// NotReadySince is when its Ready condition last stopped being True.
	NotReadySince time.Time
	// OutOfService is true while it carries the out-of-service taint.
	OutOfService bool
}

// Member is one pod of the StatefulSet as observed.
type Member struct {
	Name    string
	Ordinal int32
	// Incarnation changes when the pod is recreated or the hook container
	// restarts: the application then runs no more.
	Incarnation string
	// Running is true when hooks can run: the pod is not terminating and its
	// hook container runs.
	Running bool
	// Updated is true when the pod runs the rollout's update revision: a
	// switchover prefers such a member, which the rollout will not replace.
	Updated bool
	// Node is the node the pod is bound to; empty before it is scheduled.
	Node string
}

// Result is a hook that finished.
type Result struct {
	Member      string
	Incarnation string
	Hook        HookKind
	// Node is the node a fence hook or webhook was asked to fence.
	Node     string
	ExitCode int
	Stdout   string
	// Stderr is the end of the hook's stderr.
	Stderr string
	// Err is why the hook could not run or finish (exec refused, timed out).
	Err string
	// Recovery is the Run's, given back.
	Recovery time.Time
	Finished time.Time
}

func (r Result) failed() bool { return r.Err != "" || r.ExitCode != 0 }

// Failure says how the hook failed, with the end of its stderr: "stop hook
// failed: exit code 3: …". Empty when it succeeded.
func (r Result) Failure() string {
	if !r.failed() {
		return ""
	}
	why := r.Err
	if why == "" {
		why = fmt.Sprintf("exit code %d", r.ExitCode)
		if stderr := strings.TrimSpace(r.Stderr); stderr != "" {
			why += ": " + tail(stderr, 256)
		}
	}
	return fmt.Sprintf("%s hook failed: %s", r.Hook, why)
}

// Decision is what the controller must do, in field order.
type Decision struct {
	// 1. Status to write, merged into the rollout's one status write.
	Status v1alpha1.ReplicationStatus
	// 2. Hooks to start, only after Status was written: a seed is on record
	// before its hook runs, so a restarted operator never seeds another member.
	Run []Run
	// 3. Nodes to taint out of service, after Status was written: each
	// one's fencing is Confirmed in it. Kubernetes then force-deletes the
	// pods there. Untaint are nodes Ready again with none of the members'
	// pods left on them, whose taint sroll put.
	Taint, Untaint []string
	// Events to record after the status write.
	Events []event.Event
	// Stopped names the leaving members whose application is stopped: their
	// pods may be deleted, the StatefulSet scaled below them.
	Stopped map[string]bool
	// Available names the members that count as available for the rollout's
	// budget: joined, and their status hook passing.
	Available map[string]bool
	// RequeueAfter is when the next hook falls due; 0 = none.
	RequeueAfter time.Duration
}

// Run is a hook to start on one member, or a call of the fencing webhook
// (Hook is HookFence and Member is empty).
type Run struct {
	Member      string
	Incarnation string
	Hook        HookKind
	// Command is the hook's command with its arguments appended.
	Command []string
	Timeout time.Duration
	// Node and Members are, for HookFence, the node to fence and the
	// members on it.
	Node    string
	Members []string
	// Recovery is the recovery the run was asked for in (its
	// status.recoveryStartedAt; zero outside one), which its Result gives
	// back: a recovery decides only from hooks it asked for itself.
	Recovery time.Time
}

// Slot is where the run takes its turn, one at a time: its member, or for
// a fencing webhook call the node's fencing.
func (r Run) Slot() string {
	if r.Member == "" {
		return fenceSlot(r.Node)
	}
	return r.Member
}

func fenceSlot(node string) string { return "fence/" + node }

// Event reasons are stable: alerts and tests match on them.
const (
	ReasonHookFailed       = "HookFailed"
	ReasonRecoveryStarted  = "RecoveryStarted"
	ReasonSeedChosen       = "SeedChosen"
	ReasonQuorumTimedOut   = "QuorumTimedOut"
	ReasonLateSequence     = "LateSequence"
	ReasonReplicationReady = "ReplicationHealthy"
	ReasonSwitchoverStart  = "SwitchoverStarted"
	ReasonFailoverStart    = "FailoverStarted"
	ReasonFailoverChosen   = "FailoverTargetChosen"
	ReasonPromoted         = "PrimaryPromoted"
	ReasonFencingRequested = "FencingRequested"
	ReasonFencingRefused   = "FencingRefused"
	ReasonNodeFenced       = "NodeFenced"
	ReasonNodeReturned     = "NodeReturned"
)

// Decide is the replication decision for one observed state.
func Decide(in Input) Decision {
	d := &decider{in: in, dec: Decision{Stopped: map[string]bool{}, Available: map[string]bool{}}}
	if in.Status != nil {
		d.st = *in.Status.DeepCopy()
	}
	d.observe()
	d.fold()
	d.fence()
	if d.st.RecoveryStartedAt == nil && !d.primaryActive() && !d.secondariesCarryOn() {
		d.startRecovery()
	}
	if d.st.RecoveryStartedAt != nil {
		d.st.Promotion, d.st.PrimaryLostAt = nil, nil
		// A member leaving during a recovery (a restore scales every
		// member down, the primary first gone) is still stopped before
		// its pod goes.
		for i := range d.st.Members {
			if m := &d.st.Members[i]; d.leaving(m) {
				d.leave(m)
			}
		}
		d.recover()
	} else {
		d.promote()
		d.failover()
		d.steady()
	}
	for _, m := range d.st.Members {
		if m.State == v1alpha1.MemberRunning {
			d.dec.Available[m.Name] = true
		}
	}
	d.dec.Status = d.st
	return d.dec
}

type decider struct {
	in  Input
	st  v1alpha1.ReplicationStatus
	dec Decision
	// blocked says what the set waits for beyond members not running (a
	// handover without a target, a primary held for the majority, a
	// failover that may not happen yet), for the status message.
	blocked []string
}

// observe lines status.members up with the pods: one entry per ordinal
// below replicas (a missing pod is Stopped) and one per pod above them
// until it is gone. A new incarnation starts Stopped; its role is kept, so
// status says which member was primary most recently.
func (d *decider) observe() {
	previous := map[string]v1alpha1.ReplicationMember{}
	for _, m := range d.st.Members {
		previous[m.Name] = m
	}
	observed := map[string]Member{}
	for _, m := range d.in.Members {
		observed[m.Name] = m
	}
	var names []string
	for ordinal := range d.in.Replicas {
		names = append(names, d.name(ordinal))
	}
	for _, m := range d.in.Members {
		if m.Ordinal >= d.in.Replicas {
			names = append(names, m.Name)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return int(d.ordinal(a) - d.ordinal(b)) })
	names = slices.Compact(names)
	members := make([]v1alpha1.ReplicationMember, 0, len(names))
	for _, name := range names {
		m, ok := previous[name]
		if !ok {
			m = v1alpha1.ReplicationMember{Name: name, Role: v1alpha1.RoleNone, State: v1alpha1.MemberStopped}
		}
		pod := observed[name]
		if m.Incarnation != pod.Incarnation {
			m.Incarnation, m.Joined, m.Failures = pod.Incarnation, false, 0
			d.setState(&m, v1alpha1.MemberStopped)
		}
		if node, known := d.in.Nodes[pod.Node]; known && !node.Ready && m.State == v1alpha1.MemberRunning {
			// No status hook can reach it: whether it still serves is unknown.
			m.LastError = fmt.Sprintf("its node %s is NotReady", pod.Node)
			d.setState(&m, v1alpha1.MemberFailed)
		}
		members = append(members, m)
	}
	d.st.Members = members
}

func (d *decider) setState(m *v1alpha1.ReplicationMember, state v1alpha1.MemberState) {
	if m.State == state && m.LastTransitionTime != nil {
		return
	}
	m.State = state
	now := metavOf(d.in.Now)
	m.LastTransitionTime = &now
}

func (d *decider) member(name string) *v1alpha1.ReplicationMember {
	for i := range d.st.Members {
		if d.st.Members[i].Name == name {
			return &d.st.Members[i]
		}
	}
	return nil
}

func (d *decider) pod(name string) (Member, bool) {
	for _, m := range d.in.Members {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// runnable reports whether hooks can run in member's pod: it runs, and its
// node is Ready (a NotReady node's kubelet is not reachable, and what runs
// there is unknown).
func (d *decider) runnable(member string) bool {
	pod, ok := d.pod(member)
	if !ok || !pod.Running {
		return false
	}
	node, known := d.in.Nodes[pod.Node]
	return !known || node.Ready
}

// primaryActive reports whether a primary may run the application:
// started, joined, or failing its status hook (a failing primary may still
// serve writes, so it counts like a healthy one). Without one the set
// recovers: restarting a stopped primary as it was would skip the question
// of which copy is newest, and a lights-out is seen one pod at a time, the
// primary's often first.
func (d *decider) primaryActive() bool {
	for _, m := range d.st.Members {
		if m.Role == v1alpha1.RolePrimary && (m.Joined || m.State != v1alpha1.MemberStopped) {
			return true
		}
	}
	return false
}

// secondariesCarryOn reports whether a set without an active primary is
// not in a lights-out: a promotion is under way, or failover is enabled
// and a secondary still runs, which failover promotes (a lights-out is
// seen pod by pod within seconds, well within failover.afterSeconds, and
// then no secondary runs).
func (d *decider) secondariesCarryOn() bool {
	if !d.bootstrapped() {
		return false
	}
	if d.st.Promotion != nil {
		return true
	}
	if f := d.in.Spec.Failover; f == nil || !f.Enabled {
		return false
	}
	for _, m := range d.members() {
		if m.Role == v1alpha1.RoleSecondary && m.Joined && m.State == v1alpha1.MemberRunning {
			return true
		}
	}
	return false
}

// bootstrapped reports whether a member was ever given a role.
func (d *decider) bootstrapped() bool {
	for _, m := range d.st.Members {
		if m.Role == v1alpha1.RolePrimary || m.Role == v1alpha1.RoleSecondary {
			return true
		}
	}
	return false
}

// startRecovery begins day 1 or a lights-out recovery: the last seed and the
// sequences reported before are forgotten, so this recovery seeds once, from
// what the members report now.
func (d *decider) startRecovery() {
	now := metavOf(d.in.Now)
	d.st.RecoveryStartedAt = &now
	d.st.Seed = ""
	for i := range d.st.Members {
		d.st.Members[i].Sequence = nil
	}
	if d.bootstrapped() {
		d.event(eventNormal, ReasonRecoveryStarted, "no primary is active: asking every member for its sequence before seeding the newest")
	}
}
