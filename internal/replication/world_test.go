package replication_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/replication"
)

// world plays the replicated application behind the hooks: each member's
// copy has a sequence that survives its pod (it is on the volume), and an
// application that runs only in the incarnation that started it. Hooks run
// at once when the decider asks, as a runner would after the status write;
// their results are fed to the next decision.
type world struct {
	status   *v1alpha1.ReplicationStatus
	data     map[string]int64
	failing  map[string]map[replication.HookKind]bool
	hanging  map[string]bool
	app      map[string]app
	results  []replication.Result
	busy     map[string]bool
	lastRun  map[string]time.Time
	seedRuns []string
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
		hanging: map[string]bool{}, app: map[string]app{}, busy: map[string]bool{}, lastRun: map[string]time.Time{},
	}
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
	w.lastRun = map[string]time.Time{}
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
	if w.busy[run.Member] {
		panic("hook started on a busy member " + run.Member)
	}
	if w.hanging[run.Member] {
		w.busy[run.Member] = true
		return
	}
	w.lastRun[run.Member] = now
	r := replication.Result{Member: run.Member, Incarnation: run.Incarnation, Hook: run.Hook, Finished: now}
	if w.failing[run.Member][run.Hook] {
		r.ExitCode, r.Stderr = 3, run.Hook.String()+": connection refused"
		w.results = append(w.results, r)
		return
	}
	args := run.Command[1:]
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
		if _, ok := w.running(run.Member, run.Incarnation); !ok {
			r.ExitCode = 1
		}
	}
	w.results = append(w.results, r)
}

// hookSpec is the spec the scenarios run with: each hook's command is its
// name, so the runs print as "kv-0 secondary kv-1.kv.ns.svc".
func hookSpec() v1alpha1.ReplicationSpec {
	hook := func(name string) v1alpha1.Hook { return v1alpha1.Hook{Command: []string{name}} }
	primary, secondary := hook("primary"), hook("secondary")
	return v1alpha1.ReplicationSpec{Hooks: v1alpha1.ReplicationHooks{
		Sequence: hook("sequence"), Seed: hook("seed"), Primary: &primary, Secondary: &secondary,
		Stop: hook("stop"), Status: v1alpha1.StatusHook{Hook: hook("status")},
	}}
}

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
		fmt.Fprintf(&b, "run: %s %s\n", r.Member, strings.Join(r.Command, " "))
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
		if r.Hook != replication.HookStatus {
			line += " " + r.Member + ":" + r.Hook.String()
		}
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
