package localcluster

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// A node's heartbeat is its Lease in kube-node-lease, which kwok renews.
// StopHeartbeat takes the lease from kwok the way another holder would:
// kwok then neither renews it nor touches the node or its pods (it holds
// what it manages through the lease), and after the node-monitor grace
// period the node-lifecycle controller makes the node NotReady, as for a
// node cut off from the control plane. The simulated kubelet plays the
// cut-off side: the node's pods accept no exec and report no probe, and
// their processes run on whatever the API says (deleted, force-deleted)
// until PowerOffNode kills them or RestartHeartbeat brings the node back.

// heartbeatStopped is the lease holder that keeps kwok off a node.
const heartbeatStopped = "localcluster-heartbeat-stopped"

// StopHeartbeat stops the heartbeat of the simulated node name.
func (c *Cluster) StopHeartbeat(ctx context.Context, name string) error {
	leases := c.kubelet.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	holder, day := heartbeatStopped, int32(24*60*60)
	stopped := coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &day}
	// kwok renews the lease meanwhile, and creates it again after a
	// RestartHeartbeat deleted it: retry on its writes.
	racedKwok := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(retry.DefaultRetry, racedKwok, func() error {
		stopped.RenewTime = &metav1.MicroTime{Time: time.Now()}
		lease, err := leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: corev1.NamespaceNodeLease}, Spec: stopped,
			}, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		lease.Spec = stopped
		_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("take the lease of node %s: %w", name, err)
	}
	c.kubelet.cutOff(name, true)
	return nil
}

// RestartHeartbeat gives the node's lease back to kwok, which renews it
// and makes the node Ready again; the kubelet reconnects, and kills the
// processes of the node's pods that were deleted meanwhile.
func (c *Cluster) RestartHeartbeat(ctx context.Context, name string) error {
	err := c.kubelet.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("give the lease of node %s back: %w", name, err)
	}
	c.kubelet.cutOff(name, false)
	return c.kubelet.resync(ctx, name)
}

// PowerOffNode kills every process of the pods on node, as losing power
// would; the pods stay in the API. It is what a fencing agent confirms.
func (c *Cluster) PowerOffNode(name string) {
	c.kubelet.powerOff(name)
}

// cutOff records whether node's kubelet is cut off from the control plane.
func (k *kubelet) cutOff(node string, off bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if off {
		k.unreachable[node] = true
	} else {
		delete(k.unreachable, node)
	}
}

// reachable reports whether the kubelet of node answers.
func (k *kubelet) reachable(node string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return !k.unreachable[node]
}

// powerOff kills the processes of every pod on node.
func (k *kubelet) powerOff(node string) {
	k.mu.Lock()
	var uids []types.UID
	for uid, p := range k.running {
		if p.node == node {
			uids = append(uids, uid)
		}
	}
	k.mu.Unlock()
	for _, uid := range uids {
		k.podGone(uid)
	}
	k.logs.Printf("Powered node %s off: killed the processes of %d pods", node, len(uids))
}

// resync kills the processes of node's pods that were deleted, or are
// deleting, while it was cut off.
func (k *kubelet) resync(ctx context.Context, node string) error {
	k.mu.Lock()
	running := map[types.UID]*podProcesses{}
	for uid, p := range k.running {
		if p.node == node {
			running[uid] = p
		}
	}
	k.mu.Unlock()
	for uid, p := range running {
		pod, err := k.getPodByKey(ctx, p.key)
		switch {
		case apierrors.IsNotFound(err) || (err == nil && pod.UID != uid):
			k.podGone(uid)
		case err != nil:
			return err
		case pod.DeletionTimestamp != nil:
			k.podTerminating(uid)
		}
	}
	return nil
}
