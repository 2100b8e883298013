package plantest

import (
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// specCommands change what the user asked for:
//
//	rollout replicas=10 image=v1 steps=(25,pause,pause:30s,analysis,100) max-unavailable=2
//	        rollback-max-unavailable=1 deadline=60 auto-rollback min-ready=5 policy=OrderedReady
//	set-image v2 | scale 12 | pause | resume | annotate promote undo=previous
//	refuse message=(spec.x: Invalid value) | accept
//	gate on | gate off (MaxUnavailableStatefulSet, on the API server and the
//	StatefulSet controller at once)
//
// refuse makes the API server refuse every StatefulSet write with message
// (the write and what follows it in the plan do not happen) until accept.
func specCommands(s *Sim, t *testing.T, d *datadriven.TestData) (string, bool) {
	switch d.Cmd {
	case "rollout":
		*s = *NewSim(t)
		s.Rollout = NewRollout(int32(intArg(d, "replicas", 10)), strArg(d, "image", "v1"))
		s.configure(t, d)
	case "set-image":
		s.SetImage(d.CmdArgs[0].Key)
	case "scale":
		n := int32(mustInt(t, d.CmdArgs[0].Key))
		s.Rollout.Spec.Replicas = &n
		s.Rollout.Generation++
	case "pause", "resume":
		s.Rollout.Spec.Paused = d.Cmd == "pause"
		s.Rollout.Generation++
	case "refuse":
		s.refusal = textArg(d, "message", "")
	case "accept":
		s.refusal = ""
	case "gate":
		s.gate = d.CmdArgs[0].Key == "on"
	case "annotate":
		if s.Rollout.Annotations == nil {
			s.Rollout.Annotations = map[string]string{}
		}
		for _, a := range d.CmdArgs {
			value := "1"
			if len(a.Vals) > 0 {
				value = a.Vals[0]
			}
			s.Rollout.Annotations["sroll.dev/"+a.Key] = value
		}
	default:
		return "", false
	}
	return "", true
}

func (s *Sim) configure(t *testing.T, d *datadriven.TestData) {
	spec := &s.Rollout.Spec
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

// parseStep reads "25" (percent), "pause" (wait for promote), "pause:30s"
// or "analysis" (of no check yet: the analysis command says which).
func parseStep(t *testing.T, v string) v1alpha1.RolloutStep {
	if v == "analysis" {
		return v1alpha1.RolloutStep{Analysis: &v1alpha1.Analysis{}}
	}
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
