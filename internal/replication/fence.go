package replication

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// fenceTimeout bounds a fencing webhook call (a fence hook has its own timeoutSeconds).
const fenceTimeout = v1alpha1.DefaultHookTimeoutSeconds * time.Second

// fence keeps status.replication.fencing, one record per NotReady node
// holding a member. A StatefulSet pod on a node that stopped answering is
// never replaced on its own (the pod may still run there, and two pods of
// one identity must not), so:
//  1. after fencing.afterSeconds NotReady, the fencing webhook or the fence
//     hook (in a member on another node) is asked to confirm the node is
//     powered off or isolated; a refusal is recorded with its reason and
//     asked again after a backoff;
//  2. only a confirmed node is tainted out of service (Decision.Taint),
//     after which Kubernetes force-deletes its pods and the StatefulSet
//     recreates them elsewhere; sroll never force-deletes a pod itself;
//  3. once the node is Ready again and none of the members' pods is left
//     on it, the taint is removed (Decision.Untaint) and the record goes.
func (d *decider) fence() {
	held := d.membersByNode()
	if d.in.Spec.Fencing != nil && d.in.Nodes == nil {
		d.blocked = append(d.blocked, "fencing is off: this operator reads no nodes (it runs without the cluster-scoped permission on nodes, as installed for some namespaces only)")
	}
	if spec := d.in.Spec.Fencing; spec != nil && d.in.Nodes != nil {
		for _, node := range slices.Sorted(maps.Keys(held)) {
			n, known := d.in.Nodes[node]
			if !known || n.Ready || d.fencing(node) != nil {
				continue
			}
			at := n.NotReadySince.Add(spec.AfterOrDefault())
			if d.in.Now.Before(at) {
				d.wake(at.Sub(d.in.Now))
				continue
			}
			d.st.Fencing = append(d.st.Fencing, v1alpha1.NodeFencing{
				Node: node, Members: held[node], State: v1alpha1.FencingRequested, RequestedAt: metavOf(d.in.Now),
				NotReadySince: metavOf(n.NotReadySince), Message: "asked " + d.fencer(),
			})
			d.event(eventWarning, ReasonFencingRequested, "node %s holding %s has been NotReady for %s: asking %s to confirm it is powered off or isolated",
				node, strings.Join(held[node], ", "), spec.AfterOrDefault(), d.fencer())
		}
	}
	kept := d.st.Fencing[:0]
	for _, r := range d.st.Fencing {
		n, known := d.in.Nodes[r.Node]
		if known && !n.Ready && r.NotReadySince.Unix() != n.NotReadySince.Unix() {
			// Another outage: the last confirmation says nothing of it.
			r = v1alpha1.NodeFencing{
				Node: r.Node, Members: held[r.Node], State: v1alpha1.FencingRequested, RequestedAt: metavOf(d.in.Now),
				NotReadySince: metavOf(n.NotReadySince), Message: "asked " + d.fencer() + " again", Tainted: r.Tainted,
			}
		}
		switch {
		case !known:
			continue
		case n.Ready && (r.Tainted || r.State == v1alpha1.FencingConfirmed):
			if len(held[r.Node]) > 0 {
				r.Message = "node Ready again; the taint stays until " + strings.Join(held[r.Node], ", ") + " left it"
				break
			}
			if n.OutOfService {
				d.dec.Untaint = append(d.dec.Untaint, r.Node)
				break
			}
			d.event(eventNormal, ReasonNodeReturned, "node %s is Ready again and out-of-service no more", r.Node)
			continue
		case n.Ready:
			continue
		case r.State == v1alpha1.FencingConfirmed:
			r.Tainted = n.OutOfService
			if !n.OutOfService {
				d.dec.Taint = append(d.dec.Taint, r.Node)
			}
		default:
			if r.State == v1alpha1.FencingRefused {
				d.blocked = append(d.blocked, fmt.Sprintf("node %s is NotReady and its fencing was refused (%s): nothing on it is force-deleted", r.Node, r.Message))
			}
			d.askFencing(&r)
		}
		kept = append(kept, r)
	}
	d.st.Fencing = kept
	if len(d.st.Fencing) == 0 {
		d.st.Fencing = nil
	}
}

// membersByNode lists the members whose pods are bound to each node.
func (d *decider) membersByNode() map[string][]string {
	out := map[string][]string{}
	for _, m := range d.in.Members {
		if m.Node != "" {
			out[m.Node] = append(out[m.Node], m.Name)
		}
	}
	for node := range out {
		slices.SortFunc(out[node], func(a, b string) int { return int(d.ordinal(a) - d.ordinal(b)) })
	}
	return out
}

func (d *decider) fencing(node string) *v1alpha1.NodeFencing {
	for i := range d.st.Fencing {
		if d.st.Fencing[i].Node == node {
			return &d.st.Fencing[i]
		}
	}
	return nil
}

// fencer names who confirms fencing, for messages.
func (d *decider) fencer() string {
	if d.in.Spec.Hooks.Fence != nil {
		return "the fence hook"
	}
	return "the fencing webhook"
}

// askFencing calls the webhook, or runs the fence hook in the lowest
// member running on another Ready node, when the last refusal's backoff
// has passed.
func (d *decider) askFencing(r *v1alpha1.NodeFencing) {
	wait := time.Duration(0)
	if r.Failures > 0 {
		wait = backoff(r.Failures)
	}
	run := Run{Hook: HookFence, Node: r.Node, Members: r.Members, Timeout: fenceTimeout}
	if hook := d.in.Spec.Hooks.Fence; hook != nil {
		var runner *v1alpha1.ReplicationMember
		for _, m := range d.members() {
			if pod, _ := d.pod(m.Name); pod.Node != r.Node && d.runnable(m.Name) {
				runner = m
				break
			}
		}
		if runner == nil {
			d.blocked = append(d.blocked, fmt.Sprintf("node %s is NotReady and no member runs on another node to run the fence hook", r.Node))
			return
		}
		run.Member, run.Incarnation, run.Timeout = runner.Name, runner.Incarnation, hook.TimeoutOrDefault()
		run.Command = append(append(append([]string{}, hook.Command...), r.Node), r.Members...)
	}
	if !d.slotFree(run.Slot(), wait) {
		return
	}
	d.dec.Run = append(d.dec.Run, run)
}

// fenceAnswered records the webhook's or fence hook's answer for a node.
func (d *decider) fenceAnswered(res Result) {
	r := d.fencing(res.Node)
	if r == nil || r.State == v1alpha1.FencingConfirmed {
		return
	}
	who := "the fencing webhook"
	if res.Member != "" {
		who = "the fence hook in " + res.Member
	}
	if !res.failed() {
		at := metavOf(res.Finished)
		r.State, r.ConfirmedAt, r.Failures = v1alpha1.FencingConfirmed, &at, 0
		r.Message = "confirmed by " + who
		d.event(eventWarning, ReasonNodeFenced, "node %s is fenced (%s): tainting it out of service so its pods are recreated elsewhere", res.Node, r.Message)
		return
	}
	why := res.Err
	if why == "" {
		why = fmt.Sprintf("exit code %d", res.ExitCode)
		if stderr := strings.TrimSpace(res.Stderr); stderr != "" {
			why = tail(stderr, 256)
		}
	}
	r.State, r.Failures = v1alpha1.FencingRefused, r.Failures+1
	r.Message = fmt.Sprintf("%s did not confirm: %s", who, why)
	d.event(eventWarning, ReasonFencingRefused, "node %s: %s; nothing on it is force-deleted", res.Node, r.Message)
}
