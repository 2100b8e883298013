package snapshot

import (
	"fmt"
	"maps"
	"slices"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
)

// Event reasons of a restore.
const (
	ReasonRestoreStarted = "RestoreStarted"
	// ReasonRestoreRefused: the request was not carried out (no such
	// set, not Ready, another rollout's, another replica count); nothing
	// was changed.
	ReasonRestoreRefused = "RestoreRefused"
	// ReasonRestoreFailed: the BeforeRestore set failed; nothing was changed.
	ReasonRestoreFailed = "RestoreFailed"
	ReasonRestored      = "Restored"
)

// ClaimState is what one reconcile saw of a PersistentVolumeClaim.
type ClaimState struct {
	UID types.UID
	// Restoring names the VolumeSnapshot it is provisioned from (its
	// dataSource); empty for any other claim.
	Restoring string
	Bound     bool
	Deleting  bool
}

// RestoreInput is what one reconcile observed of a rollout's restore.
type RestoreInput struct {
	Rollout *v1alpha1.StatefulSetRollout
	// Sets are the rollout's RolloutSnapshots, in any order.
	Sets []v1alpha1.RolloutSnapshot
	// Pods counts the StatefulSet's pods that exist, terminating or not.
	Pods int
	// Claims are the claims of the restored set's volumes that exist, by
	// name; read only in the Replacing step.
	Claims map[string]ClaimState
	Now    time.Time
}

// RestoreGate is what the planner does while a restore runs: hold the
// rollout where it is, with Message, and with ScaleDown keep the
// StatefulSet at zero replicas (stopping every member first).
type RestoreGate struct {
	ScaleDown bool
	Message   string
}

// RestoreDecision says what a restore does now, in field order.
type RestoreDecision struct {
	// 1. Record is status.restore to write, with the rest of the status.
	Record *v1alpha1.RestoreStatus
	// 2. After that write: the BeforeRestore set to create (left alone if
	// it exists), the claims to delete (with their UID as a
	// precondition), the claims to create from their snapshots.
	Create       *v1alpha1.RolloutSnapshot
	DeleteClaims []ClaimRef
	CreateClaims []corev1.PersistentVolumeClaim
	// Events on the rollout, after the status write.
	Events []event.Event
	// Gate, when not nil, holds the planner.
	Gate *RestoreGate
	// RequeueAfter is when to look again at claims being provisioned
	// (nothing announces a claim bound); 0 = none.
	RequeueAfter time.Duration
}

// claimPoll is how often claims being replaced are looked at again.
const claimPoll = time.Second

// ClaimRef names one observed claim.
type ClaimRef struct {
	Name string
	UID  types.UID
}

// DecideRestore is the next step of a restore: a new request is checked
// and started, a restore on record is carried one step on. Each step is
// recorded before it is carried out.
func DecideRestore(in RestoreInput) RestoreDecision {
	r := in.Rollout
	var d RestoreDecision
	if r.Status.Restore != nil {
		d.Record = r.Status.Restore.DeepCopy()
	}
	value, asked := r.Annotations[v1alpha1.AnnotationRestore]
	if asked && r.Status.HandledActions[v1alpha1.AnnotationRestore] != value {
		d.request(in, value)
	}
	if d.Record != nil {
		d.carryOn(in)
	}
	return d
}

// request checks a new restore request and starts it, or refuses it.
func (d *RestoreDecision) request(in RestoreInput, from string) {
	r := in.Rollout
	if d.Record != nil {
		d.refuse("a restore from %s is in progress (step %s); ask again once it is done", d.Record.From, d.Record.Step)
		return
	}
	set := find(in.Sets, &v1alpha1.SnapshotSetRef{Name: from})
	if why := Restorable(r, set, from); why != "" {
		d.refuse("%s", why)
		return
	}
	name := NewName(r.Name, in.Now, in.Sets)
	d.Record = &v1alpha1.RestoreStatus{From: from, BeforeRestore: name, Step: v1alpha1.RestoreBeforeRestore, StartedAt: metav1.NewTime(in.Now)}
	d.Events = append(d.Events, event.Event{Type: corev1.EventTypeNormal, Reason: ReasonRestoreStarted,
		Message: fmt.Sprintf("Restoring from snapshot set %s; first taking snapshot set %s of the volumes as they are", from, name)})
}

// Restorable says why the set called name (nil when there is none) can't
// be restored into r; empty when it can. The plugin asks it too, so that
// the user hears why at once.
func Restorable(r *v1alpha1.StatefulSetRollout, set *v1alpha1.RolloutSnapshot, name string) string {
	replicas := r.Spec.ReplicasOrDefault()
	switch {
	case r.Status.Phase != v1alpha1.PhaseCompleted && r.Status.Phase != v1alpha1.PhaseAborted:
		return fmt.Sprintf("%s is %s: a restore needs a settled rollout (Completed, or Aborted: back on its stable revision); abort it first, or wait until it completes",
			r.Name, phaseName(r.Status.Phase))
	case set == nil:
		return fmt.Sprintf("no snapshot set %s of %s in this namespace (kubectl sroll snapshots %s lists them)", name, r.Name, r.Name)
	case set.Spec.RolloutName != r.Name:
		return fmt.Sprintf("snapshot set %s is of %s, not of %s", name, set.Spec.RolloutName, r.Name)
	case set.Status.Phase != v1alpha1.SnapshotReady:
		return fmt.Sprintf("snapshot set %s is %s, not Ready: only a Ready set can be restored", name, phaseOf(set))
	case set.Status.Replicas != replicas:
		return fmt.Sprintf("snapshot set %s holds %d members and %s has %d replicas: scale %s to %d first, or restore another set",
			name, set.Status.Replicas, r.Name, replicas, r.Name, set.Status.Replicas)
	case !sameClaims(set.Status.Volumes, Volumes(name, r)):
		return fmt.Sprintf("snapshot set %s holds other claims than %s's volumeClaimTemplates make", name, r.Name)
	}
	return ""
}

func phaseName(p v1alpha1.Phase) string {
	if p == "" {
		return "new"
	}
	return string(p)
}

func phaseOf(set *v1alpha1.RolloutSnapshot) string {
	if set.Status.Phase == "" {
		return "new"
	}
	return string(set.Status.Phase)
}

func sameClaims(a, b []v1alpha1.SnapshotVolume) bool {
	claims := func(vs []v1alpha1.SnapshotVolume) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Claim)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(claims(a), claims(b))
}

func (d *RestoreDecision) refuse(format string, args ...any) {
	d.Events = append(d.Events, event.Event{Type: corev1.EventTypeWarning, Reason: ReasonRestoreRefused,
		Message: "Restore refused: " + fmt.Sprintf(format, args...)})
}

// carryOn moves the restore on record through as many steps as the
// observed world allows.
func (d *RestoreDecision) carryOn(in RestoreInput) {
	rec := d.Record
	msg := func(what string) string { return "restoring from snapshot set " + rec.From + ": " + what }
	if rec.Step == v1alpha1.RestoreBeforeRestore {
		before := find(in.Sets, &v1alpha1.SnapshotSetRef{Name: rec.BeforeRestore})
		switch {
		case before == nil:
			d.Create = NewSet(in.Rollout, rec.BeforeRestore, v1alpha1.SnapshotBeforeRestore)
			d.Gate = &RestoreGate{Message: msg("taking snapshot set " + rec.BeforeRestore + " of the volumes as they are")}
			return
		case before.Status.Phase == v1alpha1.SnapshotFailed:
			d.Record = nil
			d.Events = append(d.Events, event.Event{Type: corev1.EventTypeWarning, Reason: ReasonRestoreFailed,
				Message: fmt.Sprintf("Restore from %s failed before changing anything: snapshot set %s of the volumes as they are failed: %s",
					rec.From, rec.BeforeRestore, before.Status.Message)})
			return
		case before.Status.Phase != v1alpha1.SnapshotReady:
			d.Gate = &RestoreGate{Message: msg("taking snapshot set " + rec.BeforeRestore + " of the volumes as they are")}
			return
		}
		rec.Step = v1alpha1.RestoreScalingDown
	}
	if rec.Step == v1alpha1.RestoreScalingDown {
		if in.Pods > 0 {
			d.Gate = &RestoreGate{ScaleDown: true, Message: msg(fmt.Sprintf("stopping the members, %d pods left", in.Pods))}
			return
		}
		rec.Step = v1alpha1.RestoreReplacing
		// The claims are read in the Replacing step: come back for them.
		d.Gate = &RestoreGate{ScaleDown: true, Message: msg("replacing the claims")}
		return
	}
	from := find(in.Sets, &v1alpha1.SnapshotSetRef{Name: rec.From})
	if from == nil {
		// Deleted during the restore: its VolumeSnapshots went with it.
		d.Record = nil
		d.Events = append(d.Events, event.Event{Type: corev1.EventTypeWarning, Reason: ReasonRestoreFailed,
			Message: fmt.Sprintf("Restore from %s stopped: the set was deleted while its claims were replaced; the members' data is in snapshot set %s", rec.From, rec.BeforeRestore)})
		return
	}
	waiting := d.replaceClaims(in, from)
	if waiting > 0 {
		d.Gate = &RestoreGate{ScaleDown: true, Message: msg(fmt.Sprintf("replacing the claims, %d of %d not bound yet", waiting, len(from.Status.Volumes)))}
		d.RequeueAfter = claimPoll
		return
	}
	d.Record = nil
	d.Events = append(d.Events, event.Event{Type: corev1.EventTypeNormal, Reason: ReasonRestored,
		Message: fmt.Sprintf("Restored %d claims from snapshot set %s (revision %s); the members start again on them. The volumes as they were are in snapshot set %s",
			len(from.Status.Volumes), from.Name, from.Status.Revision, rec.BeforeRestore)})
}

// replaceClaims deletes each claim that is not provisioned from its
// snapshot, creates the missing ones from it, and counts those not bound yet.
func (d *RestoreDecision) replaceClaims(in RestoreInput, from *v1alpha1.RolloutSnapshot) int {
	waiting := 0
	for _, v := range from.Status.Volumes {
		claim, exists := in.Claims[v.Claim]
		switch {
		case !exists:
			d.CreateClaims = append(d.CreateClaims, restoredClaim(in.Rollout, v))
			waiting++
		case claim.Restoring != v.VolumeSnapshot:
			if !claim.Deleting {
				d.DeleteClaims = append(d.DeleteClaims, ClaimRef{Name: v.Claim, UID: claim.UID})
			}
			waiting++
		case !claim.Bound:
			waiting++
		}
	}
	return waiting
}

// restoredClaim is the claim of v, as the StatefulSet would make it from
// its template, provisioned from v's VolumeSnapshot.
func restoredClaim(r *v1alpha1.StatefulSetRollout, v v1alpha1.SnapshotVolume) corev1.PersistentVolumeClaim {
	var template corev1.PersistentVolumeClaim
	for _, t := range r.Spec.VolumeClaimTemplates {
		if v.Claim == t.Name+"-"+v.Member {
			template = t
		}
	}
	labels := map[string]string{}
	maps.Copy(labels, template.Labels)
	if r.Spec.Selector != nil {
		maps.Copy(labels, r.Spec.Selector.MatchLabels)
	}
	claim := corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: v.Claim, Labels: labels, Annotations: template.Annotations},
		Spec:       *template.Spec.DeepCopy(),
	}
	claim.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptr.To(snapshotv1.GroupName), Kind: "VolumeSnapshot", Name: v.VolumeSnapshot}
	claim.Spec.DataSourceRef = nil
	return claim
}
