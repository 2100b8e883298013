package plan

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// TestScenarios runs the scripts in testdata/. Each script is the rollout
// semantics written down; `go test ./internal/plan -rewrite` regenerates the
// expected output for a human to review.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		s := newSim(t)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return s.command(t, d)
		})
	})
}

func (s *sim) command(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "rollout":
		*s = *newSim(t)
		s.rollout = newRollout(int32(intArg(d, "replicas", 10)), strArg(d, "image", "v1"))
		s.configure(t, d)
		return ""
	case "set-image":
		s.rollout.Spec.Template.Spec.Containers[0].Image = d.CmdArgs[0].Key
		s.rollout.Generation++
		return ""
	case "scale":
		n := int32(mustInt(t, d.CmdArgs[0].Key))
		s.rollout.Spec.Replicas = &n
		s.rollout.Generation++
		return ""
	case "pause", "resume":
		s.rollout.Spec.Paused = d.Cmd == "pause"
		s.rollout.Generation++
		return ""
	case "annotate":
		if s.rollout.Annotations == nil {
			s.rollout.Annotations = map[string]string{}
		}
		for _, a := range d.CmdArgs {
			value := "1"
			if len(a.Vals) > 0 {
				value = a.Vals[0]
			}
			s.rollout.Annotations["sroll.dev/"+a.Key] = value
		}
		return ""
	case "plan":
		return s.plan().String()
	case "apply":
		s.apply()
		return ""
	case "sync":
		s.sync()
		return s.podsSummary()
	case "step":
		out := s.plan().String()
		s.apply()
		s.sync()
		return out + "pods: " + s.podsSummary()
	case "ready":
		if len(d.CmdArgs) > 0 && d.CmdArgs[0].Key == "all" {
			s.readyAll()
		} else {
			for _, o := range ordinalsArg(t, d) {
				s.setReady(o, true)
			}
		}
		return s.podsSummary()
	case "break", "notready":
		for _, o := range ordinalsArg(t, d) {
			s.broken[s.pods[o].UID] = d.Cmd == "break"
			s.setReady(o, false)
		}
		return s.podsSummary()
	case "kill":
		for _, o := range ordinalsArg(t, d) {
			delete(s.pods, o)
		}
		return s.podsSummary()
	case "terminate":
		for _, o := range ordinalsArg(t, d) {
			if pod, ok := s.pods[o]; ok {
				now := metav1.NewTime(s.now)
				pod.DeletionTimestamp = &now
			}
		}
		return s.podsSummary()
	case "tick":
		dur, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		s.now = s.now.Add(dur)
		return ""
	case "pods":
		return s.podsSummary()
	case "run":
		return s.run(intArg(d, "max", 100))
	}
	t.Fatalf("unknown command %q", d.Cmd)
	return ""
}

// run repeats plan, apply, sync and "every pod that can be Ready is", one
// second apart, until the world stops changing; one line per round.
func (s *sim) run(maxRounds int) string {
	var b strings.Builder
	for round := 1; round <= maxRounds; round++ {
		before := s.podsSummary()
		beforeStatus := s.rollout.Status.DeepCopy()
		p := s.plan()
		s.apply()
		s.sync()
		s.readyAll()
		line := fmt.Sprintf("%s step=%d partition=%d", p.Status.Phase, p.Status.CurrentStepIndex, p.Partition)
		if n := len(p.Delete); n > 0 {
			line += fmt.Sprintf(" deleted=%d(%s..%s)", n, p.Delete[0].Name, p.Delete[n-1].Name)
		}
		for _, e := range p.Events {
			if e.Reason != ReasonBatchDeleted {
				line += " " + e.Reason
			}
		}
		fmt.Fprintln(&b, line)
		if s.podsSummary() == before && equality.Semantic.DeepEqual(&p.Status, beforeStatus) && len(p.Delete) == 0 && len(p.Events) == 0 {
			fmt.Fprintf(&b, "stable after %d rounds: %s\n", round, s.podsSummary())
			fmt.Fprintf(&b, "message: %s\n", p.Status.Message)
			return b.String()
		}
		s.now = s.now.Add(time.Second)
	}
	fmt.Fprintf(&b, "not stable after %d rounds: %s\n", maxRounds, s.podsSummary())
	return b.String()
}

func (s *sim) configure(t *testing.T, d *datadriven.TestData) {
	spec := &s.rollout.Spec
	for _, a := range d.CmdArgs {
		val := ""
		if len(a.Vals) > 0 {
			val = a.Vals[0]
		}
		switch a.Key {
		case "replicas", "image":
		case "steps":
			spec.Rollout.Steps = nil
			for _, v := range a.Vals {
				spec.Rollout.Steps = append(spec.Rollout.Steps, parseStep(t, v))
			}
		case "max-unavailable":
			v := intstr.Parse(val)
			spec.Rollout.MaxUnavailable = &v
		case "rollback-max-unavailable":
			v := intstr.Parse(val)
			spec.Rollout.RollbackMaxUnavailable = &v
		case "deadline":
			v := int32(mustInt(t, val))
			spec.Rollout.ProgressDeadlineSeconds = &v
		case "auto-rollback":
			spec.Rollout.AutoRollback = true
		case "min-ready":
			spec.MinReadySeconds = int32(mustInt(t, val))
		case "policy":
			spec.PodManagementPolicy = appsv1.PodManagementPolicyType(val)
		default:
			t.Fatalf("unknown rollout argument %q", a.Key)
		}
	}
}

// parseStep reads "25" (percent), "pause" (wait for promote) or "pause:30s".
func parseStep(t *testing.T, v string) v1alpha1.RolloutStep {
	if rest, ok := strings.CutPrefix(v, "pause"); ok {
		p := &v1alpha1.PauseStep{}
		if dur, ok := strings.CutPrefix(rest, ":"); ok {
			parsed, err := time.ParseDuration(dur)
			if err != nil {
				t.Fatal(err)
			}
			p.Duration = &metav1.Duration{Duration: parsed}
		}
		return v1alpha1.RolloutStep{Pause: p}
	}
	n := int32(mustInt(t, v))
	return v1alpha1.RolloutStep{Percent: &n}
}

func ordinalsArg(t *testing.T, d *datadriven.TestData) []int32 {
	var out []int32
	for _, a := range d.CmdArgs {
		for _, part := range strings.Split(a.Key, ",") {
			if from, to, ok := strings.Cut(part, "-"); ok {
				for o := mustInt(t, from); o <= mustInt(t, to); o++ {
					out = append(out, int32(o))
				}
				continue
			}
			out = append(out, int32(mustInt(t, part)))
		}
	}
	return out
}

func intArg(d *datadriven.TestData, key string, def int) int {
	for _, a := range d.CmdArgs {
		if a.Key == key && len(a.Vals) > 0 {
			if n, err := strconv.Atoi(a.Vals[0]); err == nil {
				return n
			}
		}
	}
	return def
}

func strArg(d *datadriven.TestData, key, def string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key && len(a.Vals) > 0 {
			return a.Vals[0]
		}
	}
	return def
}

func mustInt(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
