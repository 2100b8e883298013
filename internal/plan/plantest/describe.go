package plantest

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/sroll-dev/sroll/internal/event"
	"github.com/sroll-dev/sroll/internal/plan"
)

// Describe is a plan as scenario output shows it: one line for where the
// rollout stands, then what the controller is asked to do.
func Describe(p plan.Plan) string {
	var b strings.Builder
	st := p.Status
	if p.Undo != nil {
		if p.Undo.Template != nil {
			fmt.Fprintf(&b, "undo: spec.template image %s\n", p.Undo.Template.Spec.Containers[0].Image)
		}
		describeEvents(&b, p.Events)
		return b.String()
	}
	fmt.Fprintf(&b, "phase=%s step=%d partition=%d stable=%s update=%s\n", st.Phase, st.CurrentStepIndex, p.Partition, st.StableRevision, st.UpdateRevision)
	if p.TemplateRevision != "" {
		fmt.Fprintf(&b, "template: revision %s\n", p.TemplateRevision)
	}
	if len(p.Delete) > 0 {
		names := make([]string, 0, len(p.Delete))
		for _, d := range p.Delete {
			names = append(names, d.Name)
		}
		fmt.Fprintf(&b, "delete: %s\n", strings.Join(names, " "))
	}
	describeEvents(&b, p.Events)
	for _, m := range p.Measure {
		fmt.Fprintf(&b, "measure: %s at %s\n", measureName(m), m.At.Format("15:04:05"))
	}
	if p.RequeueAfter > 0 {
		fmt.Fprintf(&b, "requeue: %s\n", p.RequeueAfter)
	}
	fmt.Fprintf(&b, "message: %s\n", st.Message)
	return b.String()
}

func describeEvents(b *strings.Builder, events []event.Event) {
	for _, e := range events {
		fmt.Fprintf(b, "event: %s %s: %s\n", e.Type, e.Reason, e.Message)
	}
}

// podKey is a pod as scenario output shows it: "v2:notready".
func podKey(pod *corev1.Pod) string {
	state := "ready"
	switch {
	case pod.DeletionTimestamp != nil:
		state = "terminating"
	case !plan.PodReady(pod):
		state = "notready"
	}
	return strings.TrimPrefix(pod.Labels[appsv1.ControllerRevisionHashLabelKey], Name+"-") + ":" + state
}

// PodsSummary groups consecutive pods with the same revision and state:
// "0-3=v1:ready 4-7=v2:notready".
func (s *Sim) PodsSummary() string {
	var groups []string
	var lastKey string
	var from, to int32 = -1, -1
	flush := func() {
		if from < 0 {
			return
		}
		r := strconv.Itoa(int(from))
		if to != from {
			r += "-" + strconv.Itoa(int(to))
		}
		groups = append(groups, r+"="+lastKey)
	}
	for _, o := range s.ordinals() {
		key := podKey(s.pods[o])
		if key == lastKey && o == to+1 {
			to = o
			continue
		}
		flush()
		lastKey, from, to = key, o, o
	}
	flush()
	if len(groups) == 0 {
		return "none"
	}
	return strings.Join(groups, " ")
}
