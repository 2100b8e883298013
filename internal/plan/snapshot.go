package plan

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// heldBySnapshot holds a new template before it reaches the StatefulSet
// while the snapshot set taken for it (Input.Snapshot) is not Ready: no pod
// is touched until the volumes are captured. A failed set makes the
// rollout Degraded, still with no pod touched.
func (d *decider) heldBySnapshot() bool {
	gate := d.in.Snapshot
	if gate == nil || gate.Phase == v1alpha1.SnapshotReady {
		return false
	}
	if gate.Phase == v1alpha1.SnapshotFailed {
		d.holdOn(HoldSnapshotFailed, gate.Message)
		if d.previous != v1alpha1.PhaseDegraded {
			d.event(corev1.EventTypeWarning, ReasonSnapshotFailed, "%s", gate.Message)
		}
		return true
	}
	d.holdOn(HoldSnapshot, gate.Message)
	return true
}
