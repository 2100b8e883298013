package snapshot

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
)

// Input is what one reconcile of a rollout observed of its snapshots.
type Input struct {
	Rollout *v1alpha1.StatefulSetRollout
	// TemplateHash is the hash of spec.template (plan.TemplateHash).
	TemplateHash string
	// TemplatePending: the StatefulSet exists and a new template of the
	// rollout moving forward waits to be written to it. This is when a
	// before-rollout set is taken: no pod has the new template yet.
	TemplatePending bool
	// Sets are the rollout's RolloutSnapshots, in any order.
	Sets []v1alpha1.RolloutSnapshot
	Now  time.Time
}

// Gate is the planner's view of the set a new template waits for.
type Gate struct {
	// Phase is the set's: Pending (wait), Ready (go on) or Failed (Degraded).
	Phase v1alpha1.SnapshotPhase
	// Set names the RolloutSnapshot.
	Set string
	// Message says what the set is at, for status.message.
	Message string
}

// Decision says what to do for a rollout's snapshots, in field order.
type Decision struct {
	// 1. Record is status.snapshots to write, with the rest of the status.
	Record *v1alpha1.SnapshotsStatus
	// 2. Create is the set to create after that write (one that exists
	// already is left alone).
	Create *v1alpha1.RolloutSnapshot
	// 3. Delete names automatic sets beyond spec.snapshots.keep.
	Delete []string
	// Events on the rollout, after the status write succeeded.
	Events []event.Event
	// Gate, when not nil, is what the planner waits for before it writes
	// the new template.
	Gate *Gate
	// RequeueAfter is when the next scheduled set is due; 0 = none.
	RequeueAfter time.Duration
}

// Decide is what a rollout needs of its snapshot sets now.
func Decide(in Input) Decision {
	r := in.Rollout
	spec := r.Spec.Snapshots
	var d Decision
	if r.Status.Snapshots != nil {
		d.Record = r.Status.Snapshots.DeepCopy()
	}
	if spec == nil {
		return d
	}
	if d.Record == nil {
		d.Record = &v1alpha1.SnapshotsStatus{}
	}
	if spec.BeforeRollout && in.TemplatePending {
		d.beforeRollout(in)
	}
	d.scheduled(in)
	d.Delete = retention(in, d.Record)
	for _, name := range d.Delete {
		d.Events = append(d.Events, event.Event{Type: corev1.EventTypeNormal, Reason: ReasonSnapshotDeleted,
			Message: fmt.Sprintf("Deleted snapshot set %s: spec.snapshots.keep is %d", name, spec.KeepOrDefault())})
	}
	return d
}

// beforeRollout decides the set the new template waits for: the one on
// record for this template, or a new one when there is none, or when the
// recorded one failed and a retry is asked for now. (The retry's value
// can't be compared with the one on record: the planner forgets a handled
// value once its annotation is removed, so a retried set that failed too
// would be taken again at once, unasked.)
func (d *Decision) beforeRollout(in Input) {
	r := in.Rollout
	retry, retrying := r.Annotations[v1alpha1.AnnotationRetry]
	// The planner carries out a request not handled yet in this reconcile.
	retrying = retrying && r.Status.HandledActions[v1alpha1.AnnotationRetry] != retry
	rec := d.Record.BeforeRollout
	set := find(in.Sets, rec)
	renew := rec == nil || rec.TemplateHash != in.TemplateHash ||
		(set != nil && set.Status.Phase == v1alpha1.SnapshotFailed && retrying)
	if renew {
		name := NewName(r.Name, in.Now, in.Sets)
		d.Record.BeforeRollout = &v1alpha1.SnapshotSetRef{Name: name, TemplateHash: in.TemplateHash, Retry: retry}
		d.Create = NewSet(r, name, v1alpha1.SnapshotBeforeRollout)
		d.Events = append(d.Events, event.Event{Type: corev1.EventTypeNormal, Reason: ReasonSnapshotStarted,
			Message: fmt.Sprintf("Taking snapshot set %s before the rollout", name)})
		d.Gate = &Gate{Phase: v1alpha1.SnapshotPending, Set: name, Message: "taking snapshot set " + name + " before the rollout"}
		return
	}
	name := rec.Name
	switch {
	case set == nil:
		// Recorded, not created (or not in the cache yet): create it again.
		d.Create = NewSet(r, name, v1alpha1.SnapshotBeforeRollout)
		d.Gate = &Gate{Phase: v1alpha1.SnapshotPending, Set: name, Message: "taking snapshot set " + name + " before the rollout"}
	case set.Status.Phase == v1alpha1.SnapshotReady:
		d.Gate = &Gate{Phase: v1alpha1.SnapshotReady, Set: name, Message: "snapshot set " + name + " ready"}
	case set.Status.Phase == v1alpha1.SnapshotFailed:
		d.Gate = &Gate{Phase: v1alpha1.SnapshotFailed, Set: name, Message: fmt.Sprintf(
			"snapshot set %s failed before the rollout: %s; no pod was touched: fix the cause and retry (kubectl sroll retry %s)",
			name, set.Status.Message, r.Name)}
	default:
		msg := "taking snapshot set " + name + " before the rollout"
		if set.Status.Message != "" {
			msg += ": " + set.Status.Message
		}
		d.Gate = &Gate{Phase: v1alpha1.SnapshotPending, Set: name, Message: msg}
	}
}

// retention names the automatic sets to delete: every one older than the
// keep-th newest Ready automatic set, and a failed one once a newer set is
// Ready (it holds nothing to restore). A pending or failed set does not
// count, so a failing set never costs a good one; the set on record for a
// rollout is never deleted.
func retention(in Input, record *v1alpha1.SnapshotsStatus) []string {
	keep := in.Rollout.Spec.Snapshots.KeepOrDefault()
	var auto []v1alpha1.RolloutSnapshot
	for _, s := range in.Sets {
		if s.Spec.Reason.Automatic() && s.DeletionTimestamp == nil {
			auto = append(auto, s)
		}
	}
	slices.SortFunc(auto, newestFirst)
	var deleted []string
	ready := 0
	for _, s := range auto {
		onRecord := record.BeforeRollout != nil && s.Name == record.BeforeRollout.Name
		if !onRecord && (ready >= keep || (ready > 0 && s.Status.Phase == v1alpha1.SnapshotFailed)) {
			deleted = append(deleted, s.Name)
			continue
		}
		if s.Status.Phase == v1alpha1.SnapshotReady {
			ready++
		}
	}
	return deleted
}

// newestFirst orders sets by creation, newest first, then by name.
func newestFirst(a, b v1alpha1.RolloutSnapshot) int {
	if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
		return c
	}
	return cmp.Compare(b.Name, a.Name)
}

// NewSet is a set of the rollout's volumes, named name, taken for reason,
// with the rollout's class and timeout. The rollout owns it only when
// spec.snapshots.deleteWithRollout says so.
func NewSet(r *v1alpha1.StatefulSetRollout, name string, reason v1alpha1.SnapshotReason) *v1alpha1.RolloutSnapshot {
	set := &v1alpha1.RolloutSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: name, Labels: map[string]string{v1alpha1.LabelRollout: r.Name}},
		Spec:       v1alpha1.RolloutSnapshotSpec{RolloutName: r.Name, Reason: reason},
	}
	if spec := r.Spec.Snapshots; spec != nil {
		set.Spec.VolumeSnapshotClassName = spec.VolumeSnapshotClassName
		set.Spec.Group, set.Spec.VolumeGroupSnapshotClassName = spec.Group, spec.VolumeGroupSnapshotClassName
		set.Spec.ReadyTimeoutSeconds = spec.ReadyTimeoutSeconds
		if spec.DeleteWithRollout {
			set.OwnerReferences = []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "StatefulSetRollout", Name: r.Name, UID: r.UID,
			}}
		}
	}
	return set
}

// NewName is a set name of the rollout for now, "<rollout>-YYYYMMDD-hhmmss"
// in UTC, with a suffix when a set of that name exists already.
func NewName(rollout string, now time.Time, sets []v1alpha1.RolloutSnapshot) string {
	base := rollout + "-" + now.UTC().Format("20060102-150405")
	name := base
	for n := 2; slices.ContainsFunc(sets, func(s v1alpha1.RolloutSnapshot) bool { return s.Name == name }); n++ {
		name = fmt.Sprintf("%s-%d", base, n)
	}
	return name
}

func find(sets []v1alpha1.RolloutSnapshot, ref *v1alpha1.SnapshotSetRef) *v1alpha1.RolloutSnapshot {
	if ref == nil {
		return nil
	}
	for i := range sets {
		if sets[i].Name == ref.Name {
			return &sets[i]
		}
	}
	return nil
}

// TemplatePending reports whether a new template of the rollout waits to be
// written to its StatefulSet (sts; nil before it exists): the rollout moves
// forward, is not paused, and the StatefulSet carries another template.
func TemplatePending(r *v1alpha1.StatefulSetRollout, sts *appsv1.StatefulSet, templateHash string) bool {
	return sts != nil && !r.Spec.Paused && r.Status.RollbackReason == "" &&
		sts.Annotations[v1alpha1.AnnotationTemplateHash] != templateHash
}
