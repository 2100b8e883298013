// Package snapshot decides when a rollout's snapshot sets (RolloutSnapshots)
// are taken and kept, and how one set gets its VolumeSnapshots and becomes
// Ready or Failed. It is pure: the controller reads the world into an
// input, and carries out the decision in the order its fields say.
//
// Two deciders:
//
//   - DecideSet, for one set: it records what the set captures (members,
//     claims, the VolumeSnapshot names, the revision) in the set's status
//     before a VolumeSnapshot is created, then follows their readiness to
//     Ready, or to Failed on an error or when readyTimeoutSeconds pass.
//   - Decide, for one rollout: the set a new template waits for (named in
//     the rollout's status before it is created, so a restarted operator
//     never takes two), the planner's Gate, and the retention of automatic
//     sets (spec.snapshots.keep).
package snapshot

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
	"github.com/sroll-dev/sroll/internal/names"
	"github.com/sroll-dev/sroll/internal/replication"
)

// Event reasons are stable: alerts and tests match on them.
const (
	// ReasonSnapshotStarted: a rollout asked for a set before its rollout.
	ReasonSnapshotStarted = "SnapshotStarted"
	// ReasonSnapshotReady: every VolumeSnapshot of a set is ready.
	ReasonSnapshotReady = "SnapshotReady"
	// ReasonSnapshotFailed: a set failed (a VolumeSnapshot error, the
	// ready timeout, nothing to capture).
	ReasonSnapshotFailed = "SnapshotFailed"
	// ReasonSnapshotDeleted: an automatic set went, beyond spec.snapshots.keep.
	ReasonSnapshotDeleted = "SnapshotDeleted"
)

// VolumeState is what the snapshot controllers report of one VolumeSnapshot.
type VolumeState struct {
	// Cut: the storage took the point-in-time copy (status.creationTime
	// is set); the members may be thawed.
	Cut   bool
	Ready bool
	// Error is status.error.message; empty when none.
	Error string
}

// Failed says whether a VolumeSnapshot's or VolumeGroupSnapshot's
// status.error ends the set. The snapshot controllers keep retrying after
// an error and record the last one; the one they recover from at once is
// the API server refusing their own status write of an object that moved
// on ("the object has been modified"): a group is then ready half a second
// later. Any other error (a driver's) fails the set, so a failing class
// fails a rollout instead of holding it until readyTimeoutSeconds.
func Failed(message string) bool {
	return message != "" && !strings.Contains(message, "the object has been modified")
}

// SetInput is what one reconcile of a set observed.
type SetInput struct {
	Set *v1alpha1.RolloutSnapshot
	// Rollout is nil when the set's rollout does not exist.
	Rollout *v1alpha1.StatefulSetRollout
	// Revision is the StatefulSet's current revision (what the members run
	// below the partition), and Images that revision's images.
	Revision string
	Images   []string
	// Snapshots are the set's VolumeSnapshots that exist, by name.
	Snapshots map[string]VolumeState
	// Groups is what the cluster offers for group snapshots; read only in
	// the set's first round (no phase yet).
	Groups GroupSupport
	// Group is the set's VolumeGroupSnapshot; nil when it does not exist
	// (or the set is not a group).
	Group *GroupState
	// Members are the rollout's pods as hooks see them, by name, and
	// HookResults the set's freeze and thaw hooks that finished since the
	// last decision; HookBusy names the members where one runs (see
	// freeze.go).
	Members     map[string]replication.Member
	HookResults []replication.Result
	HookBusy    map[string]bool
	Now         time.Time
}

// SetDecision says what to do with one set, in field order.
type SetDecision struct {
	// 1. Status to write (skipped when equal to the set's).
	Status v1alpha1.RolloutSnapshotStatus
	// 2. VolumeSnapshots to create, of Status.Volumes; one that exists
	// already is left alone.
	Create []v1alpha1.SnapshotVolume
	// CreateGroup: create the VolumeGroupSnapshot Status.Group describes
	// (left alone if it exists).
	CreateGroup bool
	// 3. Freeze and thaw hooks to start, after the status write
	// succeeded: the freeze record names every member they run on.
	Run []replication.Run
	// 4. Events on the set, after the status write succeeded.
	Events []event.Event
	// RequeueAfter is when the ready timeout or the freeze limit ends, or
	// a thaw is retried; 0 = none.
	RequeueAfter time.Duration
}

// DecideSet is the next step of one snapshot set.
func DecideSet(in SetInput) SetDecision {
	d := SetDecision{Status: *in.Set.Status.DeepCopy()}
	st := &d.Status
	switch st.Phase {
	case v1alpha1.SnapshotReady, v1alpha1.SnapshotFailed:
		// A record, whose members are thawed if they may be frozen.
		d.observeFreeze(in)
		d.runFreeze(in, false)
		return d
	case "":
		if in.Rollout == nil {
			d.fail(in, fmt.Sprintf("StatefulSetRollout %q not found in this namespace", in.Set.Spec.RolloutName))
			return d
		}
		now := metav1.NewTime(in.Now)
		st.Phase, st.StartedAt = v1alpha1.SnapshotPending, &now
		st.Revision, st.Images = in.Revision, in.Images
		st.Replicas = in.Rollout.Spec.ReplicasOrDefault()
		st.Volumes = Volumes(in.Set.Name, in.Rollout)
		if len(st.Volumes) == 0 {
			d.fail(in, fmt.Sprintf("StatefulSetRollout %s has no volumeClaimTemplates: there is nothing to snapshot", in.Rollout.Name))
			return d
		}
		d.chooseGroup(in)
		if st.Phase == v1alpha1.SnapshotFailed {
			return d
		}
		d.startFreeze(in)
	}
	freeze := d.observeFreeze(in)
	st.ReadyVolumes = 0
	var waiting, failed []string
	var cut int
	if st.Group != nil {
		waiting, failed, cut = d.groupVolumes(in)
	} else {
		waiting, failed, cut = d.claimVolumes(in)
	}
	total := len(st.Volumes)
	timeout := time.Duration(in.Set.Spec.ReadyTimeoutOrDefault()) * time.Second
	deadline := st.StartedAt.Add(timeout)
	kind := "volume snapshots"
	if st.Group != nil {
		kind = "volume snapshots of VolumeGroupSnapshot " + st.Group.VolumeGroupSnapshot
	}
	switch {
	case freeze.failure != "":
		d.Create, d.CreateGroup = nil, false
		d.fail(in, freeze.failure)
		d.event(corev1.EventTypeWarning, ReasonFreezeFailed, "%s", freeze.failure)
	case len(failed) > 0:
		d.Create, d.CreateGroup = nil, false
		d.fail(in, fmt.Sprintf("%d/%d %s ready; failed: %s", st.ReadyVolumes, total, kind, strings.Join(failed, "; ")))
	case len(waiting) == 0 && freeze.over:
		now := metav1.NewTime(in.Now)
		st.Phase, st.ReadyAt = v1alpha1.SnapshotReady, &now
		st.Message = fmt.Sprintf("%d volume snapshots of %d members ready", total, st.Replicas)
		if st.Group != nil {
			st.Message += " in one VolumeGroupSnapshot " + st.Group.VolumeGroupSnapshot
		}
		st.Message += ", revision " + st.Revision
		d.Events = append(d.Events, event.Event{Type: corev1.EventTypeNormal, Reason: ReasonSnapshotReady,
			Message: fmt.Sprintf("Snapshot set ready: %s, in %s", st.Message, in.Now.Sub(st.StartedAt.Time).Round(time.Second))})
	case !in.Now.Before(deadline):
		d.Create, d.CreateGroup = nil, false
		d.fail(in, fmt.Sprintf("not ready within %s: %d/%d %s ready; waiting for %s", timeout, st.ReadyVolumes, total, kind, names.Summary(waiting)))
	default:
		st.Message = fmt.Sprintf("%d/%d %s ready", st.ReadyVolumes, total, kind)
		if freeze.waiting != "" {
			st.Message += "; " + freeze.waiting
		}
		d.RequeueAfter = deadline.Sub(in.Now)
		if st.Group != nil && st.Group.Ready {
			// Members become ready after their group, and nothing
			// announces it (they carry no label of the set's).
			d.RequeueAfter = min(d.RequeueAfter, memberPoll)
		}
	}
	if !freeze.frozen {
		// Nothing is cut before every member is frozen.
		d.Create, d.CreateGroup = nil, false
	}
	d.runFreeze(in, cut == total)
	return d
}

// claimVolumes follows the set's VolumeSnapshots, one per claim: it asks
// for those that do not exist and returns the claims still waited for and
// the failures, and counts the VolumeSnapshots already cut.
func (d *SetDecision) claimVolumes(in SetInput) (waiting, failed []string, cut int) {
	var t tally
	for i := range d.Status.Volumes {
		v := &d.Status.Volumes[i]
		state, ok := in.Snapshots[v.VolumeSnapshot]
		if !ok {
			d.Create = append(d.Create, *v)
			t.waiting = append(t.waiting, v.Claim)
			continue
		}
		t.add(&d.Status, v, state)
	}
	return t.waiting, t.failed, t.cut
}

// tally counts a set's volumes as they are followed: the claims waited
// for, the failures, and the VolumeSnapshots already cut.
type tally struct {
	waiting, failed []string
	cut             int
}

// add records one VolumeSnapshot's state on its volume and counts it.
func (t *tally) add(st *v1alpha1.RolloutSnapshotStatus, v *v1alpha1.SnapshotVolume, state VolumeState) {
	v.Ready, v.Error = state.Ready, state.Error
	if state.Cut || state.Ready {
		t.cut++
	}
	switch {
	case v.Ready:
		st.ReadyVolumes++
	case Failed(v.Error):
		t.failed = append(t.failed, fmt.Sprintf("%s: %s", v.Claim, v.Error))
	default:
		t.waiting = append(t.waiting, v.Claim)
	}
}

func (d *SetDecision) fail(in SetInput, message string) {
	d.Status.Phase, d.Status.Message = v1alpha1.SnapshotFailed, message
	if d.Status.StartedAt == nil {
		now := metav1.NewTime(in.Now)
		d.Status.StartedAt = &now
	}
	d.Events = append(d.Events, event.Event{Type: corev1.EventTypeWarning, Reason: ReasonSnapshotFailed, Message: "Snapshot set failed: " + message})
}

// Volumes are the claims of every member of a rollout (its StatefulSet is
// named like it), by ordinal then claim template, each with the name of its
// VolumeSnapshot in the set called set.
func Volumes(set string, rollout *v1alpha1.StatefulSetRollout) []v1alpha1.SnapshotVolume {
	var volumes []v1alpha1.SnapshotVolume
	for ordinal := range rollout.Spec.ReplicasOrDefault() {
		member := fmt.Sprintf("%s-%d", rollout.Name, ordinal)
		for _, template := range rollout.Spec.VolumeClaimTemplates {
			claim := template.Name + "-" + member
			volumes = append(volumes, v1alpha1.SnapshotVolume{Claim: claim, Member: member, VolumeSnapshot: set + "-" + claim})
		}
	}
	return volumes
}
