package controller

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/replication"
)

// Nodes are read only with Reconciler.WatchNodes: the permission on them is
// cluster-scoped, so an operator installed for some namespaces has none,
// and runs without fencing (status says so). The rule lives in
// config/rbac/node_role.yaml and the chart's clusterrole-nodes.yaml, never
// in the ClusterRole a namespaced install binds per namespace.

// podNodeField indexes the cached pods by the node they are bound to, so a
// node's change reaches the rollouts with a member there.
const podNodeField = "spec.nodeName"

// outOfService is the taint of Kubernetes' non-graceful node shutdown: on a
// NotReady node it makes the pod garbage collector force-delete the pods
// and detach their volumes, so that the StatefulSet recreates them
// elsewhere. sroll puts it only on a node whose fencing was confirmed.
var outOfService = corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}

func isOutOfService(t corev1.Taint) bool { return outOfService.MatchTaint(&t) }

// observeNodes reads the nodes the pods are bound to and those status
// records fencing of (their pods may be gone, the taint not yet); nil
// (unknown) without WatchNodes. A node that is gone is left out.
func (r *Reconciler) observeNodes(ctx context.Context, pods []*corev1.Pod, st *v1alpha1.ReplicationStatus) (map[string]replication.Node, error) {
	if !r.WatchNodes {
		return nil, nil
	}
	var names []string
	for _, pod := range pods {
		names = append(names, pod.Spec.NodeName)
	}
	if st != nil {
		for _, f := range st.Fencing {
			names = append(names, f.Node)
		}
	}
	nodes := map[string]replication.Node{}
	for _, name := range names {
		if _, seen := nodes[name]; seen || name == "" {
			continue
		}
		var node corev1.Node
		if err := r.Get(ctx, client.ObjectKey{Name: name}, &node); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("get node %s: %w", name, err)
		}
		nodes[name] = nodeOf(&node)
	}
	return nodes, nil
}

// nodeOf is a node as the replication decider reads it.
func nodeOf(node *corev1.Node) replication.Node {
	n := replication.Node{OutOfService: slices.ContainsFunc(node.Spec.Taints, isOutOfService)}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			n.Ready = c.Status == corev1.ConditionTrue
			n.NotReadySince = c.LastTransitionTime.Time
		}
	}
	return n
}

// taintNodes puts the out-of-service taint on the nodes the decision
// names and takes it off those it untaints, after the status recording
// the confirmation was written. Each patch carries the node's
// resourceVersion.
func (r *Reconciler) taintNodes(ctx context.Context, dec replication.Decision) error {
	for _, name := range append(slices.Clone(dec.Taint), dec.Untaint...) {
		var node corev1.Node
		if err := r.Get(ctx, client.ObjectKey{Name: name}, &node); err != nil {
			return client.IgnoreNotFound(err)
		}
		before := node.DeepCopy()
		tainted := slices.ContainsFunc(node.Spec.Taints, isOutOfService)
		switch {
		case slices.Contains(dec.Taint, name) && !tainted:
			node.Spec.Taints = append(node.Spec.Taints, outOfService)
		case slices.Contains(dec.Untaint, name) && tainted:
			node.Spec.Taints = slices.DeleteFunc(node.Spec.Taints, isOutOfService)
		default:
			continue
		}
		if err := r.Patch(ctx, &node, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return staleOr(fmt.Errorf("patch node %s: %w", name, err))
		}
		ctrl.LoggerFrom(ctx).Info("Patched node's out-of-service taint", "node", name, "tainted", !tainted)
	}
	return nil
}

// rolloutsOnNode maps a node to the rollouts with a pod bound to it.
func rolloutsOnNode(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, node client.Object) []reconcile.Request {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.MatchingFields{podNodeField: node.GetName()}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listed no pods of a node", "node", node.GetName())
			return nil
		}
		var out []reconcile.Request
		for i := range pods.Items {
			for _, req := range rolloutOfPod(ctx, &pods.Items[i]) {
				if !slices.Contains(out, req) {
					out = append(out, req)
				}
			}
		}
		return out
	}
}

// nodeChanged passes the node updates the decider reads (readiness, the
// taint), not each heartbeat.
var nodeChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		before, after := e.ObjectOld.(*corev1.Node), e.ObjectNew.(*corev1.Node)
		return nodeOf(before) != nodeOf(after)
	},
}

// indexPodNodes adds podNodeField to the manager's pod cache.
func indexPodNodes(ctx context.Context, mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(ctx, &corev1.Pod{}, podNodeField, func(o client.Object) []string {
		if name := o.(*corev1.Pod).Spec.NodeName; name != "" {
			return []string{name}
		}
		return nil
	})
}
