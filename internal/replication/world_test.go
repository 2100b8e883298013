package replication_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/replication"
)

// world plays the replicated application behind the hooks: each member's
// copy has a sequence that survives its pod (it is on the volume), and an
// application that runs only in the incarnation that started it. Hooks run
// at once when the decider asks, as a runner would after the status write;
// their results are fed to the next decision.
//
// It also plays the nodes: member kv-N starts on node-N; a NotReady node
// keeps its applications running (it is cut off, not off) and runs no
// hooks; the fencer (webhook or fence hook) confirms by powering the node
// off, which stops what ran there, or refuses. A tainted NotReady node's
// pods are force-deleted, as Kubernetes does, and come back on "spare".
type world struct {
	status  *v1alpha1.ReplicationStatus
	data    map[string]int64
	failing map[string]map[replication.HookKind]bool
	hanging map[string]bool
	// held are the hooks hanging, by slot, until finish lets them end.
	held     map[string]replication.Run
	app      map[string]app
	results  []replication.Result
	busy     map[string]bool
	lastRun  map[string]time.Time
	seedRuns []string
	// nodeOf is each member's node when it is not node-N.
	nodeOf map[string]string
	nodes  map[string]*node
	// refuseFencing makes the fencer refuse; fenced are the nodes it
	// confirmed (powered off).
	refuseFencing bool
	fenced        map[string]bool
	switchovers   []string
	lastDecision  replication.Decision
	t             testing.TB
}

type node struct {
	notReadySince time.Time
	ready         bool
	tainted       bool
}

// app is the application as one incarnation of a pod runs it.
type app struct {
	incarnation string
	role        string
	args        []string
}

func newWorld() *world {
	return &world{
		data: map[string]int64{}, failing: map[string]map[replication.HookKind]bool{},
		hanging: map[string]bool{}, held: map[string]replication.Run{}, app: map[string]app{}, busy: map[string]bool{}, lastRun: map[string]time.Time{},
		nodeOf: map[string]string{}, nodes: map[string]*node{}, fenced: map[string]bool{},
	}
}

// node of a member: node-N for kv-N until its pod was moved.
func (w *world) node(member string) string {
	if n, ok := w.nodeOf[member]; ok {
		return n
	}
	return "node-" + strings.TrimPrefix(member, "kv-")
}

func (w *world) nodeReady(name string) bool {
	n, ok := w.nodes[name]
	return !ok || n.ready
}

// setNode makes a node NotReady (cut off) or Ready again.
func (w *world) setNode(name string, ready bool, now time.Time) {
	n, ok := w.nodes[name]
	if !ok {
		n = &node{ready: true}
		w.nodes[name] = n
	}
	if n.ready && !ready {
		n.notReadySince = now
	}
	n.ready = ready
	if ready {
		delete(w.fenced, name)
	}
}

// observedNodes are the nodes as the decider reads them.
func (w *world) observedNodes() map[string]replication.Node {
	out := map[string]replication.Node{}
	for name, n := range w.nodes {
		out[name] = replication.Node{Ready: n.ready, NotReadySince: n.notReadySince, OutOfService: n.tainted}
	}
	return out
}

// taint carries out a decision's taints (checking the fencer confirmed
// each first) and untaints, and reports the members whose pods Kubernetes
// force-deletes: those on tainted NotReady nodes. Their pods come back on
// the spare node.
func (w *world) taint(d replication.Decision) ([]string, error) {
	for _, name := range d.Taint {
		if !w.fenced[name] {
			return nil, fmt.Errorf("tainted %s out of service, which no fencer confirmed", name)
		}
		w.nodes[name].tainted = true
	}
	for _, name := range d.Untaint {
		w.nodes[name].tainted = false
	}
	var forced []string
	for _, m := range d.Status.Members {
		if n := w.nodes[w.node(m.Name)]; n != nil && n.tainted && !n.ready {
			forced = append(forced, m.Name)
			w.nodeOf[m.Name] = "spare"
		}
	}
	return forced, nil
}

// primaries are the members whose application acknowledges writes as a
// primary now: running in the pod's current incarnation, cut off or not.
func (w *world) primaries(incarnation map[string]string) []string {
	var out []string
	for name, inc := range incarnation {
		if a, ok := w.running(name, inc); ok && a.role == "primary" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// running reports whether member's application runs in its current incarnation.
func (w *world) running(member, incarnation string) (app, bool) {
	a, ok := w.app[member]
	return a, ok && a.incarnation == incarnation && a.role != ""
}

// restartOperator forgets what the runner kept in memory: results not fed
// yet, hooks in flight, when hooks last ran.
func (w *world) restartOperator() {
	w.results = nil
	w.busy = map[string]bool{}
	w.held = map[string]replication.Run{}
	w.lastRun = map[string]time.Time{}
}

// finish lets the hook hanging in slot end now, with its effect and
// result, and the slot's next hooks run at once again.
func (w *world) finish(slot string, now time.Time) {
	delete(w.hanging, slot)
	run, ok := w.held[slot]
	if !ok {
		return
	}
	delete(w.held, slot)
	delete(w.busy, slot)
	w.complete(run, now)
}

// decide asks the decider, writes its status and, unless crash, runs the hooks.
func (w *world) decide(in replication.Input, crash bool) replication.Decision {
	in.Status = w.status
	in.Results = w.results
	in.Busy = map[string]bool{}
	for k, v := range w.busy {
		in.Busy[k] = v
	}
	in.LastRun = w.lastRun
	w.results = nil
	d := replication.Decide(in)
	w.lastDecision = d
	status := d.Status
	w.status = &status
	if crash {
		return d
	}
	for _, run := range d.Run {
		w.run(run, in.Now)
	}
	return d
}

func (w *world) run(run replication.Run, now time.Time) {
	slot := run.Slot()
	if w.busy[slot] {
		panic("hook started on a busy member " + slot)
	}
	if run.Member != "" && !w.nodeReady(w.node(run.Member)) {
		panic("hook started on " + run.Member + ", whose node is NotReady")
	}
	if w.hanging[slot] {
		w.busy[slot] = true
		w.held[slot] = run
		return
	}
	w.complete(run, now)
}

// complete is a hook's effect on the application and its result.
func (w *world) complete(run replication.Run, now time.Time) {
	slot := run.Slot()
	w.lastRun[slot] = now
	r := replication.Result{Member: run.Member, Incarnation: run.Incarnation, Hook: run.Hook, Node: run.Node, Recovery: run.Recovery, Finished: now}
	if w.failing[run.Member][run.Hook] {
		r.ExitCode, r.Stderr = 3, run.Hook.String()+": connection refused"
		w.results = append(w.results, r)
		return
	}
	args := []string{}
	if len(run.Command) > 0 {
		args = run.Command[1:]
	}
	switch run.Hook {
	case replication.HookSequence:
		r.Stdout = strconv.FormatInt(w.data[run.Member], 10) + "\n"
	case replication.HookSeed:
		w.seedRuns = append(w.seedRuns, run.Member)
		w.app[run.Member] = app{incarnation: run.Incarnation, role: "primary"}
	case replication.HookPrimary, replication.HookSecondary:
		w.app[run.Member] = app{incarnation: run.Incarnation, role: run.Hook.String(), args: args}
	case replication.HookStop:
		delete(w.app, run.Member)
	case replication.HookStatus:
		if a, ok := w.running(run.Member, run.Incarnation); !ok || a.role != args[0] {
			r.ExitCode = 1
		}
	case replication.HookSwitchover:
		// Stop the old primary taking writes, then promote this member;
		// an old primary that cannot be reached is not known to be stopped.
		old, _, _ := strings.Cut(args[0], ".")
		if a, ok := w.app[old]; ok && a.role == "primary" {
			if !w.nodeReady(w.node(old)) {
				r.ExitCode, r.Stderr = 1, "cannot reach "+args[0]+" to stop its writes"
				break
			}
			a.role = "demoted"
			w.app[old] = a
		}
		w.switchovers = append(w.switchovers, run.Member)
		w.app[run.Member] = app{incarnation: run.Incarnation, role: "primary"}
	case replication.HookFence:
		if w.refuseFencing {
			r.ExitCode, r.Stderr = 1, "power controller: "+run.Node+" still has power"
			break
		}
		w.fenced[run.Node] = true
		for member := range w.app {
			if w.node(member) == run.Node {
				delete(w.app, member)
			}
		}
	}
	w.results = append(w.results, r)
}

// hookSpec is the spec the scenarios run with: each hook's command is its
// name, so the runs print as "kv-0 secondary kv-1.kv.ns.svc".
func hookSpec() v1alpha1.ReplicationSpec {
	primary, secondary := hook("primary"), hook("secondary")
	return v1alpha1.ReplicationSpec{Hooks: v1alpha1.ReplicationHooks{
		Sequence: hook("sequence"), Seed: hook("seed"), Primary: &primary, Secondary: &secondary,
		Stop: hook("stop"), Status: v1alpha1.StatusHook{Hook: hook("status")},
	}}
}

func hook(name string) v1alpha1.Hook { return v1alpha1.Hook{Command: []string{name}} }

// describe is a decision as scenario output shows it.
func describe(d replication.Decision) string {
	var b strings.Builder
	st := d.Status
	fmt.Fprintf(&b, "phase=%s seed=%s\n", st.Phase, orNone(st.Seed))
	for _, m := range st.Members {
		line := fmt.Sprintf("  %s %s %s", m.Name, m.Role, m.State)
		if m.Sequence != nil {
			line += fmt.Sprintf(" seq=%d", *m.Sequence)
		}
		if m.LastError != "" {
			line += " error=" + strconv.Quote(m.LastError)
		}
		fmt.Fprintln(&b, line)
	}
	for _, r := range d.Run {
		if r.Member == "" {
			fmt.Fprintf(&b, "run: fencing webhook %s %s\n", r.Node, strings.Join(r.Members, " "))
			continue
		}
		fmt.Fprintf(&b, "run: %s %s\n", r.Member, strings.Join(r.Command, " "))
	}
	if p := st.Promotion; p != nil {
		fmt.Fprintf(&b, "promotion: %s from %s to %s\n", p.Reason, p.From, orNone(p.To))
	}
	for _, f := range st.Fencing {
		fmt.Fprintf(&b, "fencing: %s %s tainted=%t members=%s: %s\n", f.Node, f.State, f.Tainted, strings.Join(f.Members, ","), f.Message)
	}
	if len(d.Taint) > 0 || len(d.Untaint) > 0 {
		fmt.Fprintf(&b, "taint: %s untaint: %s\n", orNone(strings.Join(d.Taint, " ")), orNone(strings.Join(d.Untaint, " ")))
	}
	for _, e := range d.Events {
		fmt.Fprintf(&b, "event: %s %s: %s\n", e.Type, e.Reason, e.Message)
	}
	if len(d.Stopped) > 0 {
		fmt.Fprintf(&b, "stopped: %s\n", strings.Join(sortedKeys(d.Stopped), " "))
	}
	fmt.Fprintf(&b, "available: %s\n", orNone(strings.Join(sortedKeys(d.Available), " ")))
	fmt.Fprintf(&b, "message: %s\n", st.Message)
	return b.String()
}

// brief is one line of a decision: the phase and the hooks it started
// (the status hooks only once they fail, they run every period).
func brief(d replication.Decision) string {
	line := string(d.Status.Phase)
	if d.Status.Seed != "" {
		line += " seed=" + d.Status.Seed
	}
	for _, r := range d.Run {
		switch {
		case r.Hook == replication.HookStatus:
		case r.Member == "":
			line += " webhook:fence " + r.Node
		default:
			line += " " + r.Member + ":" + r.Hook.String()
		}
	}
	for _, n := range d.Taint {
		line += " taint " + n
	}
	for _, n := range d.Untaint {
		line += " untaint " + n
	}
	for _, e := range d.Events {
		line += " " + e.Reason
	}
	return line
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
