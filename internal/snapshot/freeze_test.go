package snapshot_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan/plantest"
	"github.com/sroll-dev/sroll/internal/replication"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

// freezeWorld is one snapshot set of a rollout with freeze and thaw hooks,
// its members' pods, the hooks the runner is running and the set's
// VolumeSnapshots. decide plays the set controller: the status is written,
// then the hooks start and the VolumeSnapshots are created.
type freezeWorld struct {
	rollout *v1alpha1.StatefulSetRollout
	set     *v1alpha1.RolloutSnapshot
	pods    map[string]replication.Member
	// running are the hooks started and not finished; results those
	// finished and not yet decided on.
	running   map[string]replication.Run
	results   []replication.Result
	snapshots map[string]snapshot.VolumeState
	// groups is what the cluster offers for group snapshots (none unless
	// the rollout says group), group the set's VolumeGroupSnapshot once
	// created.
	groups snapshot.GroupSupport
	group  *snapshot.GroupState
	now    time.Time
}

// TestFreezeScenarios runs testdata/freeze/*.txt:
//
//	rollout replicas=3 [freeze-timeout=30] [group] (freeze and thaw hooks; pods running; group: a default VolumeGroupSnapshotClass for the claims' driver)
//	set (an on-demand set of it)
//	decide (one decision of the set decider, carried out)
//	finish freeze|thaw [members=kv-0] [fail=kv-1,kv-2] [stderr=(...)] (the running hooks of that kind end, or those of members)
//	volume-snapshots cut|ready|error=(...) (each existing VolumeSnapshot)
//	tick 5s | restart (the runner forgets its hooks and results) | replace kv-1 (a new pod)
func TestFreezeScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/freeze", func(t *testing.T, path string) {
		w := &freezeWorld{now: plantest.Start}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return w.run(t, d)
		})
	})
}

func (w *freezeWorld) run(t *testing.T, d *datadriven.TestData) string {
	arg := func(key, def string) string {
		for _, a := range d.CmdArgs {
			if a.Key == key && len(a.Vals) > 0 {
				return strings.Join(a.Vals, ",")
			}
		}
		return def
	}
	switch d.Cmd {
	case "rollout":
		r := plantest.NewRollout(int32(atoi(t, arg("replicas", "3"))), "v1")
		r.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
		r.Spec.Replication = &v1alpha1.ReplicationSpec{Hooks: v1alpha1.ReplicationHooks{
			Freeze: &v1alpha1.Hook{Command: []string{"freeze"}}, Thaw: &v1alpha1.Hook{Command: []string{"thaw"}},
		}}
		r.Spec.Snapshots = &v1alpha1.SnapshotSpec{}
		if timeout := arg("freeze-timeout", ""); timeout != "" {
			seconds := int32(atoi(t, timeout))
			r.Spec.Snapshots.FreezeTimeoutSeconds = &seconds
		}
		w.rollout, w.pods = r, map[string]replication.Member{}
		w.groups, w.group = snapshot.GroupSupport{}, nil
		if d.HasArg("group") {
			w.groups = snapshot.GroupSupport{Served: true, Classes: []snapshot.GroupClass{{Name: "sroll-local", Driver: "local", Default: true}},
				Claims: map[string]snapshot.Claim{}}
			for _, v := range snapshot.Volumes("", r) {
				w.groups.Claims[v.Claim] = snapshot.Claim{Labels: r.Spec.Selector.MatchLabels, Driver: "local", Bound: true}
			}
		}
		w.running, w.snapshots = map[string]replication.Run{}, map[string]snapshot.VolumeState{}
		for i := range *r.Spec.Replicas {
			name := fmt.Sprintf("%s-%d", r.Name, i)
			w.pods[name] = replication.Member{Name: name, Ordinal: i, Incarnation: name + "/1", Running: true}
		}
	case "set":
		w.set = snapshot.NewSet(w.rollout, "s1", v1alpha1.SnapshotOnDemand)
	case "decide":
		return w.decide()
	case "finish":
		kind := d.CmdArgs[0].Key
		failing := strings.Split(arg("fail", ""), ",")
		only := strings.Split(arg("members", ""), ",")
		for _, name := range sortedKeys(w.running) {
			run := w.running[name]
			if run.Hook.String() != kind || only[0] != "" && !slices.Contains(only, name) {
				continue
			}
			r := replication.Result{Member: name, Incarnation: run.Incarnation, Hook: run.Hook, Finished: w.now}
			if slices.Contains(failing, name) {
				r.ExitCode, r.Stderr = 1, arg("stderr", "")
			}
			w.results = append(w.results, r)
			delete(w.running, name)
		}
	case "volume-snapshots":
		if g := w.group; g != nil && d.HasArg("error") {
			g.Error = arg("error", "failed")
		} else if g != nil {
			// The members appear once the group is cut.
			g.Cut = true
			g.Ready = g.Ready || d.HasArg("ready")
			for _, v := range w.set.Status.Volumes {
				g.Members[v.Claim] = snapshot.Member{VolumeSnapshot: "snapshot-" + v.Claim, VolumeState: snapshot.VolumeState{Cut: true, Ready: g.Ready}}
			}
		}
		for name, state := range w.snapshots {
			switch {
			case d.HasArg("cut"):
				state.Cut = true
			case d.HasArg("ready"):
				state.Cut, state.Ready = true, true
			default:
				state.Error = arg("error", "failed")
			}
			w.snapshots[name] = state
		}
	case "tick":
		step, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		w.now = w.now.Add(step)
	case "restart":
		w.running, w.results = map[string]replication.Run{}, nil
	case "replace":
		pod := w.pods[d.CmdArgs[0].Key]
		pod.Incarnation += "+"
		w.pods[pod.Name] = pod
	default:
		t.Fatalf("unknown command %q", d.Cmd)
	}
	return ""
}

// decide is one reconcile of the set: the decision is printed, its status
// written, its hooks started and its VolumeSnapshots created.
func (w *freezeWorld) decide() string {
	busy := map[string]bool{}
	for name := range w.running {
		busy[name] = true
	}
	in := snapshot.SetInput{Set: w.set, Rollout: w.rollout, Revision: "kv-v1", Snapshots: w.snapshots,
		Groups: w.groups, Group: w.group, Members: w.pods, HookResults: w.results, HookBusy: busy, Now: w.now}
	d := snapshot.DecideSet(in)
	w.results = nil
	w.set.Status = d.Status
	var b strings.Builder
	st := d.Status
	fmt.Fprintf(&b, "phase=%s ready=%d/%d: %s\n", st.Phase, st.ReadyVolumes, len(st.Volumes), st.Message)
	if f := st.Freeze; f != nil {
		fmt.Fprintf(&b, "freeze: limit=%ds cut=%s thaw=%s thawed=%s\n", f.TimeoutSeconds, w.since(f.CutAt), w.since(f.ThawStartedAt), w.since(f.ThawedAt))
		for _, m := range f.Members {
			fmt.Fprintf(&b, "  %s frozen=%s thawed=%s", m.Name, w.since(m.FrozenAt), w.since(m.ThawedAt))
			if m.FreezeFailed {
				b.WriteString(" freeze-failed")
			}
			if m.ThawFailures > 0 {
				fmt.Fprintf(&b, " thaw-failures=%d", m.ThawFailures)
			}
			if m.LastError != "" {
				fmt.Fprintf(&b, " error=(%s)", m.LastError)
			}
			b.WriteString("\n")
		}
	}
	if d.CreateGroup {
		fmt.Fprintf(&b, "create group: %s\n", st.Group.VolumeGroupSnapshot)
		w.group = &snapshot.GroupState{Members: map[string]snapshot.Member{}}
	}
	for _, v := range d.Create {
		fmt.Fprintf(&b, "create: %s\n", v.VolumeSnapshot)
		w.snapshots[v.VolumeSnapshot] = snapshot.VolumeState{}
	}
	for _, run := range d.Run {
		fmt.Fprintf(&b, "run: %s on %s (timeout %s)\n", run.Hook, run.Member, run.Timeout)
		w.running[run.Member] = run
	}
	for _, e := range d.Events {
		fmt.Fprintf(&b, "event: %s %s: %s\n", e.Type, e.Reason, e.Message)
	}
	if d.RequeueAfter > 0 {
		fmt.Fprintf(&b, "next look: in %s\n", d.RequeueAfter)
	}
	return b.String()
}

// since prints a recorded time as the offset from the scenario's start.
func (w *freezeWorld) since(at *metav1.Time) string {
	if at == nil {
		return "-"
	}
	return at.Sub(plantest.Start).String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
