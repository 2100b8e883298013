package plantest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

// snapshotCommands set spec.snapshots up and play the snapshot set
// controller and the CSI snapshot controllers below it:
//
//	snapshots before-rollout keep=2 timeout=60 schedule=(0 */6 * * *) group=Always group-class=x class=y (spec.snapshots, and a claim template "data")
//	group-snapshots served class=sroll-local driver=local default (see group_commands.go)
//	volume-snapshots ready | volume-snapshots error=(out of space) | volume-snapshots pending
//	sets (print the rollout's snapshot sets, oldest first)
//	ondemand name=s1 (a set created by hand, reason OnDemand)
//
// volume-snapshots runs internal/snapshot's set decider on every set that
// is not Ready or Failed, with each of its VolumeSnapshots ready, failed
// with the error, or not ready yet (for a group: the VolumeGroupSnapshot
// and its members), and records its answer as the set controller does. The rollout's own snapshot decider runs in every plan
// (Input) and its record, sets created and sets deleted are applied with
// the plan (Apply).
func snapshotCommands(s *Sim, t *testing.T, d *datadriven.TestData) (string, bool) {
	switch d.Cmd {
	case "snapshots":
		spec := &v1alpha1.SnapshotSpec{BeforeRollout: d.HasArg("before-rollout")}
		if d.HasArg("keep") {
			keep := int32(intArg(d, "keep", 0))
			spec.Keep = &keep
		}
		if d.HasArg("timeout") {
			timeout := int32(intArg(d, "timeout", 0))
			spec.ReadyTimeoutSeconds = &timeout
		}
		spec.Schedule = textArg(d, "schedule", "")
		spec.Group = v1alpha1.SnapshotGroupPolicy(strArg(d, "group", ""))
		spec.VolumeGroupSnapshotClassName = strArg(d, "group-class", "")
		spec.VolumeSnapshotClassName = strArg(d, "class", "")
		s.Rollout.Spec.Snapshots = spec
		if len(s.Rollout.Spec.VolumeClaimTemplates) == 0 {
			s.Rollout.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				}},
			}}
		}
		s.Rollout.Generation++
		return "", true
	case "group-snapshots":
		s.setGroupSnapshots(d)
		return "", true
	case "volume-snapshots":
		return s.takeVolumeSnapshots(t, d), true
	case "sets":
		return s.describeSets(), true
	case "ondemand":
		set := snapshot.NewSet(s.Rollout, strArg(d, "name", "s1"), v1alpha1.SnapshotOnDemand)
		set.CreationTimestamp = metav1.NewTime(s.Now)
		s.Sets = append(s.Sets, *set)
		return "", true
	}
	return "", false
}

// decideSnapshots asks the snapshot decider about the rollout in in, and
// returns its gate for the planner.
func (s *Sim) decideSnapshots(in plan.Input) *snapshot.Gate {
	r := in.Rollout
	if r.Spec.Snapshots == nil && r.Status.Snapshots == nil {
		s.snapshots = snapshot.Decision{}
		return nil
	}
	hash := plan.TemplateHash(&r.Spec.Template)
	var sets []v1alpha1.RolloutSnapshot
	for i := range s.Sets {
		sets = append(sets, *s.Sets[i].DeepCopy())
	}
	s.snapshots = snapshot.Decide(snapshot.Input{
		Rollout: r, TemplateHash: hash, TemplatePending: snapshot.TemplatePending(r, in.StatefulSet, hash),
		Sets: sets, Now: in.Now,
	})
	return s.snapshots.Gate
}

// applySnapshots carries out the snapshot decision after the status write:
// its record is part of that write, then the set is created and the sets
// beyond keep are deleted.
func (s *Sim) applySnapshots() {
	d := s.snapshots
	s.Rollout.Status.Snapshots = d.Record
	if d.Create != nil && !slices.ContainsFunc(s.Sets, func(set v1alpha1.RolloutSnapshot) bool { return set.Name == d.Create.Name }) {
		set := d.Create.DeepCopy()
		set.CreationTimestamp = metav1.NewTime(s.Now)
		s.Sets = append(s.Sets, *set)
	}
	s.Sets = slices.DeleteFunc(s.Sets, func(set v1alpha1.RolloutSnapshot) bool { return slices.Contains(d.Delete, set.Name) })
}

func (s *Sim) takeVolumeSnapshots(t *testing.T, d *datadriven.TestData) string {
	state := snapshot.VolumeState{Ready: d.HasArg("ready"), Error: textArg(d, "error", "")}
	var b strings.Builder
	for i := range s.Sets {
		set := &s.Sets[i]
		if set.Status.Phase == v1alpha1.SnapshotReady || set.Status.Phase == v1alpha1.SnapshotFailed {
			continue
		}
		// The first round records the volumes; VolumeSnapshots exist from then on.
		existing := map[string]snapshot.VolumeState{}
		for _, v := range set.Status.Volumes {
			existing[v.VolumeSnapshot] = state
		}
		decision := snapshot.DecideSet(snapshot.SetInput{
			Set: set, Rollout: s.Rollout, Revision: s.sts.Status.CurrentRevision, Snapshots: existing,
			Groups: s.groupSupport(), Group: s.groupState(set, state), Now: s.Now,
		})
		set.Status = decision.Status
		if (len(existing) == 0 && len(decision.Create) > 0) || decision.CreateGroup {
			for _, v := range decision.Create {
				existing[v.VolumeSnapshot] = state
			}
			decision = snapshot.DecideSet(snapshot.SetInput{Set: set, Rollout: s.Rollout, Snapshots: existing, Group: s.groupState(set, state), Now: s.Now})
			set.Status = decision.Status
		}
		for _, e := range decision.Events {
			fmt.Fprintf(&b, "%s event: %s %s: %s\n", set.Name, e.Type, e.Reason, e.Message)
		}
	}
	if b.Len() == 0 && len(s.Sets) == 0 {
		t.Fatal("volume-snapshots: no snapshot set")
	}
	return b.String() + s.describeSets()
}

func (s *Sim) describeSets() string {
	if len(s.Sets) == 0 {
		return "no sets\n"
	}
	var b strings.Builder
	for _, set := range s.Sets {
		fmt.Fprintf(&b, "%s %s %s revision=%s members=%d ready=%d/%d: %s\n", set.Name, set.Spec.Reason, set.Status.Phase,
			set.Status.Revision, set.Status.Replicas, set.Status.ReadyVolumes, len(set.Status.Volumes), set.Status.Message)
		b.WriteString(s.describeGroup(&set))
	}
	if rec := s.Rollout.Status.Snapshots; rec != nil && rec.BeforeRollout != nil {
		fmt.Fprintf(&b, "waited for: %s\n", rec.BeforeRollout.Name)
	}
	if rec := s.Rollout.Status.Snapshots; rec != nil && (rec.LastScheduleTime != nil || rec.ScheduleError != "") {
		fmt.Fprintf(&b, "last schedule time: %s %s\n", rec.LastScheduleTime.UTC().Format(time.RFC3339), rec.ScheduleError)
	}
	if d := s.snapshots; d.RequeueAfter > 0 {
		fmt.Fprintf(&b, "next look: in %s\n", d.RequeueAfter)
	}
	return b.String()
}
