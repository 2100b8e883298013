package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/internal/consul"
	"github.com/sroll-dev/sroll/internal/replication"
)

// PodFacts are what the planner reads of a pod, taken from it once
// (FactsOf). A decision reads every pod of the rollout, and a pod's
// conditions, labels and owners are spread over the heap: at a thousand
// pods that reading was most of a decision. The operator takes the facts of
// each version of a pod once, when its watch tells of it, and a decision
// reads them in a row.
type PodFacts struct {
	Ref PodRef
	// Controller is the UID of the pod's controlling owner, if it has one
	// (controlled).
	Controller types.UID
	controlled bool
	// Revision is the pod's controller-revision-hash label.
	Revision    string
	Terminating bool
	// ReadySince is when the pod's Ready condition last became True (zero
	// while it is not).
	ReadySince time.Time
	// NotReady is why the pod is not Ready, as the API reports it.
	NotReady NotReady
}

// FactsOf are the facts of pod.
func FactsOf(pod *corev1.Pod) PodFacts {
	f := PodFacts{
		Ref:         PodRef{Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion},
		Revision:    pod.Labels[appsv1.ControllerRevisionHashLabelKey],
		Terminating: pod.DeletionTimestamp != nil,
		ReadySince:  readySince(pod),
		NotReady:    WhyNotReady(pod),
	}
	if owner := metav1.GetControllerOfNoCopy(pod); owner != nil {
		f.Controller, f.controlled = owner.UID, true
	}
	return f
}

// FactsOfEach are the facts of each of pods, in their order.
func FactsOfEach(pods []*corev1.Pod) []PodFacts {
	facts := make([]PodFacts, len(pods))
	for i, pod := range pods {
		facts[i] = FactsOf(pod)
	}
	return facts
}

// Pod is one of the StatefulSet's pods as the planner judged it when it was
// observed. Everything that reads a pod (the budget, the step, the batch in
// flight, the counts in status, the plugin and the notifier through View)
// reads these fields, so a new rule changes them here, once:
//
//   - a concern that adds to what "available" means (joined in its
//     replication role, healthy in Consul) feeds its observation into
//     observePods and a term into available;
//   - why a pod is not available (unschedulable, ImagePullBackOff,
//     CrashLoopBackOff, as the API reports it) is one more field of
//     PodFacts, which messages and the plugin then show.
type Pod struct {
	PodFacts
	Ordinal int32
	// Ready is the pod's Ready condition right now (never while
	// terminating).
	Ready bool
	// Available is what the disruption budget counts: see available.
	Available bool
}

// pods are the StatefulSet's own pods, judged once when observed.
type pods struct {
	// set is the StatefulSet's name: an ordinal without a pod is named after it.
	set string
	// replicas is spec.replicas: the ordinals that should have a pod.
	replicas int32
	// list is the pods lowest ordinal first, which is also the order the
	// view shows them in; at finds an ordinal's through index, 1 + its
	// place in list (0: no pod), for the ordinals below the replicas, the
	// only ones the rules ask about by ordinal. Not a map by ordinal: at a
	// thousand pods a decision was mostly building that map, reading it
	// and copying it out.
	list  []Pod
	index []int32
}

// observePods judges the StatefulSet's own pods at now. Pods another
// controller owns, or whose ordinal can't be read, are left out: the planner
// never acts on a pod it is not sure about. Before the StatefulSet exists
// (sts nil) every ordinal is missing.
func observePods(sts *appsv1.StatefulSet, observed []PodFacts, replicas int32, now time.Time, minReady time.Duration, gate *replication.Gate, consul *consul.Gate) pods {
	ps := pods{replicas: replicas}
	if sts == nil {
		return ps
	}
	ps.set = sts.Name
	// The ordinals are sorted before any pod is judged: moving a Pod is
	// copying its whole struct.
	type own struct {
		ordinal int32
		facts   *PodFacts
	}
	owned := make([]own, 0, len(observed))
	for i := range observed {
		f := &observed[i]
		if !f.controlled || f.Controller != sts.UID {
			continue
		}
		if ordinal, ok := podOrdinal(sts.Name, f.Ref.Name); ok {
			owned = append(owned, own{ordinal, f})
		}
	}
	slices.SortFunc(owned, func(a, b own) int { return cmp.Compare(a.ordinal, b.ordinal) })
	ps.list = make([]Pod, len(owned))
	ps.index = make([]int32, max(replicas, 0))
	for i, o := range owned {
		if o.ordinal < replicas {
			ps.index[o.ordinal] = int32(i) + 1
		}
		p := &ps.list[i]
		*p = Pod{PodFacts: *o.facts, Ordinal: o.ordinal}
		p.Ready = !p.Terminating && !p.ReadySince.IsZero()
		p.Available = available(*p, now, minReady) && (gate == nil || gate.Available(p.Ref.Name)) &&
			(p.Revision != sts.Status.UpdateRevision || consul.Healthy(p.Ref.Name))
	}
	return ps
}

// at is the pod of an ordinal below the replicas, if it has one.
func (ps pods) at(ordinal int32) (Pod, bool) {
	if ordinal < 0 || int(ordinal) >= len(ps.index) || ps.index[ordinal] == 0 {
		return Pod{}, false
	}
	return ps.list[ps.index[ordinal]-1], true
}

// available is the one rule for whether a pod serves, in the StatefulSet's
// meaning: Ready for at least minReadySeconds, and not on its way out. With
// spec.replication, observePods adds the replication term: the member is
// joined and its status hook passes (replication.Gate); with Consul's
// requireHealthy, a pod on the update revision must be healthy in Consul
// (consul.Gate).
func available(p Pod, now time.Time, minReady time.Duration) bool {
	return p.Ready && !now.Before(p.ReadySince.Add(minReady))
}

func podOrdinal(setName, podName string) (int32, bool) {
	suffix, found := strings.CutPrefix(podName, setName+"-")
	if !found {
		return 0, false
	}
	n, err := strconv.ParseInt(suffix, 10, 32)
	if err != nil || n < 0 {
		return 0, false
	}
	return int32(n), true
}

// PodReady reports whether a pod's Ready condition is True, as the planner
// reads it: for readers that show pods the planner does not judge (the
// plugin lists every pod the selector matches).
func PodReady(pod *corev1.Pod) bool { return !readySince(pod).IsZero() }

func readySince(pod *corev1.Pod) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			if c.LastTransitionTime.IsZero() {
				// Ready without a time: treat as ready since the epoch so
				// minReadySeconds is already met.
				return time.Unix(0, 0)
			}
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// name is the pod name of an ordinal, whether or not a pod exists.
func (ps pods) name(ordinal int32) string { return fmt.Sprintf("%s-%d", ps.set, ordinal) }

// unavailable counts the ordinals that don't serve right now: missing,
// terminating or not available. Pods broken for reasons of their own count
// too, so they consume the budget.
func (ps pods) unavailable() int32 {
	var n int32
	for ordinal := range ps.replicas {
		if p, _ := ps.at(ordinal); !p.Available {
			n++
		}
	}
	return n
}

// anyOutdated reports whether a live pod within the replicas runs another
// revision than target.
func (ps pods) anyOutdated(target string) bool {
	for _, p := range ps.list {
		if !p.Terminating && p.Revision != target && p.Ordinal < ps.replicas {
			return true
		}
	}
	return false
}

// inFlight is the one rule for the batch in flight: the pods being replaced
// with the target revision, named by ordinal from the ordinal from up to the
// replicas. Those are the pods this plan deletes, pods terminating, ordinals
// without a pod (deleted and not recreated yet) and pods on the target
// revision not available yet. A pod broken on an older revision is not in
// flight: nothing is replacing it.
func (ps pods) inFlight(from int32, target string, deleting []PodRef) []string {
	deleted := map[string]bool{}
	for _, ref := range deleting {
		deleted[ref.Name] = true
	}
	var names []string
	for ordinal := from; ordinal < ps.replicas; ordinal++ {
		p, ok := ps.at(ordinal)
		switch {
		case !ok:
			names = append(names, ps.name(ordinal))
		case deleted[p.Ref.Name] || p.Terminating || (target != "" && p.Revision == target && !p.Available):
			names = append(names, p.Ref.Name)
		}
	}
	return names
}

// actedFrom is the lowest ordinal from which every ordinal up to the
// replicas was acted on: its pod runs target, is terminating or is deleted
// by this plan, or it has no pod (deleted, not recreated yet).
func (ps pods) actedFrom(target string, deleting []PodRef) int32 {
	from := ps.replicas
	for ordinal := ps.replicas - 1; ordinal >= 0; ordinal-- {
		p, ok := ps.at(ordinal)
		if ok && !p.Terminating && p.Revision != target && !slices.ContainsFunc(deleting, func(ref PodRef) bool { return ref.Name == p.Ref.Name }) {
			break
		}
		from = ordinal
	}
	return from
}

// ordinalsOf are the ordinals of pods named as inFlight names them.
func (ps pods) ordinalsOf(podNames []string) []int32 {
	var ordinals []int32
	for _, name := range podNames {
		if ordinal, ok := podOrdinal(ps.set, name); ok {
			ordinals = append(ordinals, ordinal)
		}
	}
	return ordinals
}
