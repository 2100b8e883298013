package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sroll-dev/sroll/internal/names"
)

// NotReady is why a pod is not Ready, as the API reports it: a short reason
// for lists (Unschedulable, ImagePullBackOff, CrashLoopBackOff) and the
// message that explains it (the scheduler's "0/3 nodes are available: ...",
// the kubelet's "Back-off pulling image ..."). Zero when the pod is Ready or
// the API says nothing yet.
type NotReady struct {
	Reason, Message string
}

// WhyNotReady reads a pod's conditions and container states, in the order
// a pod goes through them: not scheduled, then an init container, then a
// container waiting or terminated. The plugin reads every pod the selector
// matches with it, the planner its own.
func WhyNotReady(pod *corev1.Pod) NotReady {
	if PodReady(pod) || pod.DeletionTimestamp != nil {
		return NotReady{}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return NotReady{Reason: cmp.Or(c.Reason, "Unschedulable"), Message: c.Message}
		}
	}
	for _, statuses := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, s := range statuses {
			switch {
			case s.State.Waiting != nil && s.State.Waiting.Reason != "":
				return NotReady{Reason: s.State.Waiting.Reason, Message: s.State.Waiting.Message}
			case s.State.Terminated != nil && s.State.Terminated.ExitCode != 0:
				return NotReady{Reason: cmp.Or(s.State.Terminated.Reason, "Error"), Message: s.State.Terminated.Message}
			}
		}
	}
	return NotReady{}
}

// maxReasons is how many distinct reasons a summary names before "and N
// more reasons": a status line, not a report.
const maxReasons = 3

// whyNotReady summarises why the pods of ordinals are not Ready, grouped
// by what the API says, the largest group first: "kv-3, kv-4:
// ImagePullBackOff (Back-off pulling image "kv:v9"); kv-5: Unschedulable
// (0/3 nodes are available: ...)". Pods the API says nothing about are
// left out; empty when that is all of them.
func (ps pods) whyNotReady(ordinals []int32) string {
	groups := map[NotReady][]string{}
	for _, ordinal := range ordinals {
		if p, ok := ps.at(ordinal); ok && p.NotReady.Reason != "" {
			groups[p.NotReady] = append(groups[p.NotReady], p.Ref.Name)
		}
	}
	keys := make([]NotReady, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b NotReady) int {
		return cmp.Or(cmp.Compare(len(groups[b]), len(groups[a])), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Message, b.Message))
	})
	var parts []string
	for i, k := range keys {
		if i == maxReasons {
			parts = append(parts, fmt.Sprintf("and %d more reasons", len(keys)-maxReasons))
			break
		}
		part := names.Summary(groups[k]) + ": " + k.Reason
		if k.Message != "" {
			part += " (" + k.Message + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}
