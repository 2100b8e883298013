package replication_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/plan/plantest"
	"github.com/sroll-dev/sroll/internal/replication"
)

// TestScenarios runs the scripts in testdata/ in the planner's simulated
// StatefulSet, with the replication commands below on top of the rollout's
// (plantest's rollout, kill, terminate, sync, scale, set-image …).
// `go test ./internal/replication -rewrite` regenerates the expected output.
func TestScenarios(t *testing.T) {
	worlds := map[*plantest.Sim]*world{}
	plantest.Walk(t, "testdata/scenarios", func(s *plantest.Sim, t *testing.T, d *datadriven.TestData) (string, bool) {
		if d.Cmd == "replication" {
			worlds[s] = newWorld()
			worlds[s].t = t
		}
		w := worlds[s]
		if w == nil {
			return "", false
		}
		return replicationCommands(s, w, t, d)
	})
}

// replicationCommands:
//
//	replication primaries=1 quorum=All timeout=300 switchover failover=30 fencing=60 fence=webhook|hook without=primary
//	  (after rollout: hooks on it; switchover adds the switchover hook,
//	  failover and fencing their afterSeconds, fence who confirms,
//	  without=primary leaves the primary hook out)
//	data kv-0=1000 kv-1=1077 (each copy's sequence) | fail kv-1 sequence,status | heal kv-1
//	hang kv-1 (its hooks never finish) | finish kv-1 (the one hanging ends now) | restart-operator
//	kill-app kv-0 (its application dies, its pod stays)
//	node-down node-0 | node-up node-0 (cut off: what runs there runs on) | fencer refuse|confirm
//	decide [crash] (one decision; crash: the status is written, the hooks never start)
//	replicate max=40 (rounds of plan, decide, hooks, handover-gated apply, sync, 1s apart)
//	wait 30 (rounds of replicate for 30 simulated seconds, printed only when something changes)
//	app (what each member's application runs as)
func replicationCommands(s *plantest.Sim, w *world, t *testing.T, d *datadriven.TestData) (string, bool) {
	switch d.Cmd {
	case "replication":
		spec := hookSpec()
		for _, a := range d.CmdArgs {
			value := ""
			if len(a.Vals) > 0 {
				value = a.Vals[0]
			}
			n, _ := strconv.Atoi(value)
			switch a.Key {
			case "primaries":
				p := int32(n)
				spec.Primaries = &p
			case "quorum":
				spec.Recovery.Quorum = v1alpha1.Quorum(value)
			case "timeout":
				timeout := int32(n)
				spec.Recovery.TimeoutSeconds = &timeout
			case "without":
				if value != "primary" {
					t.Fatalf("without=%s: only the primary hook may be left out", value)
				}
				spec.Hooks.Primary = nil
			case "switchover":
				switchover := hook("switchover")
				spec.Hooks.Switchover = &switchover
			case "failover":
				after := int32(n)
				spec.Failover = &v1alpha1.FailoverSpec{Enabled: true, AfterSeconds: &after}
			case "fencing":
				after := int32(n)
				if spec.Fencing == nil {
					spec.Fencing = &v1alpha1.FencingSpec{}
				}
				spec.Fencing.AfterSeconds = &after
			case "fence":
				if value == "hook" {
					fence := hook("fence")
					spec.Hooks.Fence = &fence
				} else {
					spec.Fencing.Webhook = &v1alpha1.WebhookEndpoint{URL: "https://fencer.example"}
				}
			default:
				t.Fatalf("unknown replication argument %q", a.Key)
			}
		}
		s.Rollout.Spec.Replication = &spec
		s.Rollout.Spec.ServiceName = plantest.Name
	case "data":
		for _, a := range d.CmdArgs {
			n, err := strconv.ParseInt(a.Vals[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			w.data[a.Key] = n
		}
	case "fail":
		kinds := map[replication.HookKind]bool{}
		for _, name := range d.CmdArgs[1:] {
			kinds[hookKind(t, name.Key)] = true
		}
		w.failing[d.CmdArgs[0].Key] = kinds
	case "heal":
		delete(w.failing, d.CmdArgs[0].Key)
	case "hang":
		w.hanging[d.CmdArgs[0].Key] = true
	case "finish":
		w.finish(d.CmdArgs[0].Key, s.Now)
	case "restart-operator":
		w.restartOperator()
	case "kill-app":
		delete(w.app, d.CmdArgs[0].Key)
	case "node-down", "node-up":
		w.setNode(d.CmdArgs[0].Key, d.Cmd == "node-up", s.Now)
	case "fencer":
		w.refuseFencing = d.CmdArgs[0].Key == "refuse"
	case "decide":
		crash := len(d.CmdArgs) > 0 && d.CmdArgs[0].Key == "crash"
		dec, _ := w.round(s, crash)
		return describe(dec), true
	case "replicate":
		max := 40
		if len(d.CmdArgs) > 0 {
			max, _ = strconv.Atoi(d.CmdArgs[0].Vals[0])
		}
		return w.replicate(s, max), true
	case "wait":
		seconds, _ := strconv.Atoi(d.CmdArgs[0].Key)
		return w.wait(s, seconds), true
	case "app":
		return w.describeApps(s), true
	default:
		return "", false
	}
	return "", true
}

// round is one reconcile as the controller composes it: the planner's
// plan, which deletes only the pods whose members are stopped and names the
// others in Handover; the replication decision with those as leaving
// members; its status merged into the rollout's one status; the hooks; the
// plan applied.
func (w *world) round(s *plantest.Sim, crash bool) (replication.Decision, plan.Plan) {
	t := w.t
	p := s.Plan()
	pods := s.Pods()
	leaving := map[string]bool{}
	for _, ref := range p.Delete {
		leaving[ref.Name] = true
	}
	for _, name := range p.Handover {
		leaving[name] = true
		// The StatefulSet controller replaces pods at or above the
		// partition by itself: one still handing over must be below it.
		if o, _ := strconv.Atoi(strings.TrimPrefix(name, plantest.Name+"-")); p.Undo == nil && int32(o) >= p.Partition && p.Status.Phase != "Completed" {
			w.t.Fatalf("the partition %d authorises %s, which is still handing over", p.Partition, name)
		}
	}
	spec := s.Rollout.Spec
	var members []replication.Member
	incarnations := map[string]string{}
	for _, pod := range pods {
		o, _ := strconv.Atoi(strings.TrimPrefix(pod.Name, plantest.Name+"-"))
		members = append(members, replication.Member{
			Name: pod.Name, Ordinal: int32(o), Incarnation: string(pod.UID), Running: pod.DeletionTimestamp == nil,
			Updated: pod.Labels[appsv1.ControllerRevisionHashLabelKey] == p.Status.UpdateRevision, Node: w.node(pod.Name),
		})
		incarnations[pod.Name] = string(pod.UID)
	}
	dec := w.decide(replication.Input{
		Spec: *spec.Replication, Set: plantest.Name, Namespace: "ns", Service: plantest.Name,
		Replicas: spec.ReplicasOrDefault(), Members: members, Leaving: leaving, Nodes: w.observedNodes(), Now: s.Now,
	}, crash)
	if primaries := w.primaries(incarnations); len(primaries) > int(spec.Replication.PrimariesOrDefault()) {
		t.Fatalf("%s take writes as primaries at once", strings.Join(primaries, " and "))
	}
	if crash {
		s.Rollout.Status.Replication = w.status
		return dec, p
	}
	forced, err := w.taint(dec)
	if err != nil {
		t.Fatal(err)
	}
	s.Apply()
	for _, name := range forced {
		o, _ := strconv.Atoi(strings.TrimPrefix(name, plantest.Name+"-"))
		s.Remove(int32(o))
	}
	s.Rollout.Status.Replication = w.status
	s.Sync()
	s.ReadyAll()
	return dec, p
}

// wait runs rounds 1 s apart for seconds, printing the rounds in which
// something other than status hooks happened.
func (w *world) wait(s *plantest.Sim, seconds int) string {
	var b strings.Builder
	for range seconds {
		dec, p := w.round(s, false)
		s.Now = s.Now.Add(time.Second)
		if onlyStatusHooks(dec) && len(dec.Events) == 0 && len(p.Delete) == 0 && len(dec.Taint)+len(dec.Untaint) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s %s\n", s.Now.Sub(plantest.Start), brief(dec))
	}
	return b.String() + describe(w.lastDecision)
}

func (w *world) replicate(s *plantest.Sim, maxRounds int) string {
	var b strings.Builder
	for round := 1; round <= maxRounds; round++ {
		pods := s.PodsSummary()
		before := w.status.DeepCopy()
		beforeRollout := s.Rollout.Status.DeepCopy()
		dec, p := w.round(s, false)
		line := brief(dec) + " | rollout " + string(p.Status.Phase)
		if n := len(p.Delete); n > 0 && s.PodsSummary() != pods {
			line += fmt.Sprintf(" deleted %s", p.Delete[0].Name)
			for _, ref := range p.Delete[1:] {
				line += "," + ref.Name
			}
		}
		fmt.Fprintln(&b, line)
		s.Now = s.Now.Add(time.Second)
		if onlyStatusHooks(dec) && len(dec.Events) == 0 && len(p.Delete) == 0 && s.PodsSummary() == pods && equality.Semantic.DeepEqual(before, w.status) && equality.Semantic.DeepEqual(beforeRollout, &s.Rollout.Status) {
			fmt.Fprintf(&b, "stable after %d rounds: %s\n", round, s.PodsSummary())
			return b.String() + describe(dec)
		}
	}
	return b.String() + fmt.Sprintf("not stable after %d rounds\n", maxRounds)
}

func (w *world) describeApps(s *plantest.Sim) string {
	var b strings.Builder
	for _, pod := range s.Pods() {
		a, ok := w.running(pod.Name, string(pod.UID))
		if !ok {
			fmt.Fprintf(&b, "%s: stopped\n", pod.Name)
			continue
		}
		fmt.Fprintf(&b, "%s: %s %s\n", pod.Name, a.role, strings.Join(a.args, " "))
	}
	fmt.Fprintf(&b, "seed hook ran on: %s\n", orNone(strings.Join(w.seedRuns, " ")))
	if len(w.switchovers) > 0 {
		fmt.Fprintf(&b, "switchover hook ran on: %s\n", strings.Join(w.switchovers, " "))
	}
	return b.String()
}

func hookKind(t *testing.T, name string) replication.HookKind {
	for k := replication.HookSequence; k <= replication.HookFence; k++ {
		if k.String() == name {
			return k
		}
	}
	t.Fatalf("unknown hook %q", name)
	return 0
}

func onlyStatusHooks(d replication.Decision) bool {
	for _, r := range d.Run {
		if r.Hook != replication.HookStatus {
			return false
		}
	}
	return true
}
