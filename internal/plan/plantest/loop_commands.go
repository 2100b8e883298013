package plantest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/sroll-dev/sroll/internal/names"
	"github.com/sroll-dev/sroll/internal/plan"
)

// loopCommands run the control loop and the clock:
//
//	plan (print the plan) | apply | sync (print the pods after)
//	step (plan, apply, sync) | run max=100 (until nothing changes) | tick 30s
//	view (the last plan's View and Progressing condition)
//	down max=100 (the operator is down: sync and ready, until nothing changes)
//	writes (the StatefulSet writes since the last writes)
func loopCommands(s *Sim, t *testing.T, d *datadriven.TestData) (string, bool) {
	switch d.Cmd {
	case "plan":
		return Describe(s.Plan()), true
	case "apply":
		s.Apply()
		return "", true
	case "sync":
		s.Sync()
		return s.PodsSummary(), true
	case "step":
		out := Describe(s.Step())
		return out + "pods: " + s.PodsSummary() + s.kcmDeleted(), true
	case "run":
		return s.run(intArg(d, "max", 100)), true
	case "view":
		return describeView(s.last), true
	case "down":
		return s.down(intArg(d, "max", 100)), true
	case "writes":
		out := fmt.Sprintf("statefulset writes: %d\n", s.stsWrites)
		s.stsWrites = 0
		return out, true
	case "tick":
		dur, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		s.Now = s.Now.Add(dur)
		return "", true
	}
	return "", false
}

// run repeats plan, apply, sync and "every pod that can be Ready is", one
// second apart, until the world stops changing; one line per round.
func (s *Sim) run(maxRounds int) string {
	var b strings.Builder
	for round := 1; round <= maxRounds; round++ {
		before := s.PodsSummary()
		beforeStatus := s.Rollout.Status.DeepCopy()
		p := s.Round()
		line := fmt.Sprintf("%s step=%d partition=%d", p.Status.Phase, p.Status.CurrentStepIndex, p.Partition)
		if n := len(p.Delete); n > 0 {
			line += fmt.Sprintf(" deleted=%d(%s..%s)", n, p.Delete[0].Name, p.Delete[n-1].Name)
		}
		line += s.kcmDeleted()
		for _, e := range p.Events {
			if e.Reason != plan.ReasonBatchDeleted {
				line += " " + e.Reason
			}
		}
		fmt.Fprintln(&b, line)
		if s.PodsSummary() == before && equality.Semantic.DeepEqual(&p.Status, beforeStatus) && len(p.Delete) == 0 && len(p.Events) == 0 {
			fmt.Fprintf(&b, "stable after %d rounds: %s\n", round, s.PodsSummary())
			fmt.Fprintf(&b, "message: %s\n", p.Status.Message)
			return b.String()
		}
		s.Now = s.Now.Add(time.Second)
	}
	fmt.Fprintf(&b, "not stable after %d rounds: %s\n", maxRounds, s.PodsSummary())
	return b.String()
}

// down plays the world with the operator down: the StatefulSet controller
// syncs and every pod that can be Ready is, one second apart, until the
// world stops changing; one line per round.
func (s *Sim) down(maxRounds int) string {
	var b strings.Builder
	for round := 1; round <= maxRounds; round++ {
		before := s.PodsSummary()
		s.Sync()
		s.ReadyAll()
		fmt.Fprintf(&b, "%s%s\n", s.PodsSummary(), s.kcmDeleted())
		if s.PodsSummary() == before {
			fmt.Fprintf(&b, "stable after %d rounds\n", round)
			return b.String()
		}
		s.Now = s.Now.Add(time.Second)
	}
	fmt.Fprintf(&b, "not stable after %d rounds\n", maxRounds)
	return b.String()
}

// kcmDeleted reports the pods the StatefulSet controller deleted since the
// last report: " kcm-deleted=kv-9".
func (s *Sim) kcmDeleted() string {
	if len(s.KcmDeleted) == 0 {
		return ""
	}
	out := " kcm-deleted=" + strings.Join(s.KcmDeleted, ",")
	s.KcmDeleted = nil
	return out
}

// describeView is what the readers of a plan (notifier, plugin) are shown,
// and the Progressing condition the hold or phase makes.
func describeView(p plan.Plan) string {
	hold := "none"
	if h := p.View.Hold; h != nil {
		hold = h.Kind.String()
	}
	inFlight := names.Summary(p.View.InFlight)
	if inFlight == "" {
		inFlight = "none"
	}
	progressing := "none"
	if c := meta.FindStatusCondition(p.Status.Conditions, plan.ConditionProgressing); c != nil {
		progressing = string(c.Status) + " " + c.Reason
	}
	return fmt.Sprintf("hold: %s\nin flight: %s\nprogressing: %s\n", hold, inFlight, progressing)
}
