package snapshot_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan/plantest"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

// restoreWorld is what a restore sees: a rollout, its sets, how many pods
// its StatefulSet has and its claims. decide plays the controller: the
// record is written, then (unless the operator "crashes" right after the
// write) the set and claims are created and deleted.
type restoreWorld struct {
	rollout *v1alpha1.StatefulSetRollout
	sets    []v1alpha1.RolloutSnapshot
	pods    int
	claims  map[string]snapshot.ClaimState
	now     time.Time
	uid     int
}

// TestRestoreScenarios runs testdata/restore/*.txt:
//
//	rollout replicas=3 phase=Completed (a rollout with a claim template "data", its claims bound)
//	set name=s1 phase=Ready replicas=3 [rollout=other] [group] | set-phase NAME Ready|Failed
//	annotate restore=s1 | pods N | claims gone|bound (deleting claims go; restored ones bind)
//	decide [crash] (one decision; crash: its record is written, nothing else)
func TestRestoreScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/restore", func(t *testing.T, path string) {
		w := &restoreWorld{now: plantest.Start}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return w.run(t, d)
		})
	})
}

func (w *restoreWorld) run(t *testing.T, d *datadriven.TestData) string {
	arg := func(key, def string) string {
		for _, a := range d.CmdArgs {
			if a.Key == key && len(a.Vals) > 0 {
				return a.Vals[0]
			}
		}
		return def
	}
	switch d.Cmd {
	case "rollout":
		r := plantest.NewRollout(int32(atoi(t, arg("replicas", "3"))), "v1")
		r.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
		r.Status.Phase = v1alpha1.Phase(arg("phase", "Completed"))
		w.rollout, w.pods, w.claims = r, int(*r.Spec.Replicas), map[string]snapshot.ClaimState{}
		for _, v := range snapshot.Volumes("", r) {
			w.claims[v.Claim] = snapshot.ClaimState{UID: w.newUID(), Bound: true}
		}
	case "set":
		owner := w.rollout.DeepCopy()
		owner.Name = arg("rollout", owner.Name)
		replicas := int32(atoi(t, arg("replicas", fmt.Sprint(*owner.Spec.Replicas))))
		owner.Spec.Replicas = &replicas
		set := snapshot.NewSet(owner, arg("name", "s1"), v1alpha1.SnapshotOnDemand)
		set.Status = v1alpha1.RolloutSnapshotStatus{Phase: v1alpha1.SnapshotPhase(arg("phase", "Ready")), Replicas: replicas,
			Revision: "kv-v1", Volumes: snapshot.Volumes(set.Name, owner)}
		if d.HasArg("group") {
			// The members are the snapshot controller's, named after a hash.
			set.Status.Group = &v1alpha1.SnapshotGroup{VolumeGroupSnapshot: set.Name, Selector: snapshot.GroupSelector(owner), Ready: true}
			for i := range set.Status.Volumes {
				set.Status.Volumes[i].VolumeSnapshot = fmt.Sprintf("snapshot-%x", i+10)
			}
		}
		w.sets = append(w.sets, *set)
	case "set-phase":
		for i := range w.sets {
			if w.sets[i].Name == d.CmdArgs[0].Key {
				w.sets[i].Status.Phase = v1alpha1.SnapshotPhase(d.CmdArgs[1].Key)
			}
		}
	case "annotate":
		w.rollout.Annotations = map[string]string{v1alpha1.AnnotationRestore: arg("restore", "")}
	case "pods":
		w.pods = atoi(t, d.CmdArgs[0].Key)
	case "claims":
		for name, c := range w.claims {
			switch {
			case d.CmdArgs[0].Key == "gone" && c.Deleting:
				delete(w.claims, name)
			case d.CmdArgs[0].Key == "bound" && c.Restoring != "":
				c.Bound = true
				w.claims[name] = c
			}
		}
	case "decide":
		return w.decide(d.HasArg("crash"))
	default:
		t.Fatalf("unknown command %q", d.Cmd)
	}
	return ""
}

func (w *restoreWorld) decide(crash bool) string {
	in := snapshot.RestoreInput{Rollout: w.rollout.DeepCopy(), Sets: w.sets, Pods: w.pods, Now: w.now}
	if rec := w.rollout.Status.Restore; rec != nil && rec.Step == v1alpha1.RestoreReplacing {
		in.Claims = w.claims
	}
	d := snapshot.DecideRestore(in)
	var b strings.Builder
	if rec := d.Record; rec != nil {
		fmt.Fprintf(&b, "record: from=%s before-restore=%s step=%s\n", rec.From, rec.BeforeRestore, rec.Step)
	} else {
		fmt.Fprintln(&b, "record: none")
	}
	if g := d.Gate; g != nil {
		fmt.Fprintf(&b, "gate: scale-down=%t: %s\n", g.ScaleDown, g.Message)
	}
	// The status write: the record, and the request handled by the planner.
	w.rollout.Status.Restore = d.Record
	if v, ok := w.rollout.Annotations[v1alpha1.AnnotationRestore]; ok {
		w.rollout.Status.HandledActions = map[string]string{v1alpha1.AnnotationRestore: v}
	}
	if crash {
		fmt.Fprintln(&b, "crashed after the status write")
		return b.String()
	}
	if set := d.Create; set != nil {
		fmt.Fprintf(&b, "create set: %s (%s)\n", set.Name, set.Spec.Reason)
		if !slices.ContainsFunc(w.sets, func(s v1alpha1.RolloutSnapshot) bool { return s.Name == set.Name }) {
			w.sets = append(w.sets, *set)
		}
	}
	for _, ref := range d.DeleteClaims {
		fmt.Fprintf(&b, "delete claim: %s\n", ref.Name)
		c := w.claims[ref.Name]
		c.Deleting = true
		w.claims[ref.Name] = c
	}
	for _, claim := range d.CreateClaims {
		fmt.Fprintf(&b, "create claim: %s from %s labels=%v\n", claim.Name, claim.Spec.DataSource.Name, claim.Labels)
		w.claims[claim.Name] = snapshot.ClaimState{UID: w.newUID(), Restoring: claim.Spec.DataSource.Name}
	}
	for _, e := range d.Events {
		fmt.Fprintf(&b, "event: %s %s: %s\n", e.Type, e.Reason, e.Message)
	}
	if d.RequeueAfter > 0 {
		fmt.Fprintf(&b, "requeue: %s\n", d.RequeueAfter)
	}
	return b.String()
}

func (w *restoreWorld) newUID() types.UID {
	w.uid++
	return types.UID(fmt.Sprintf("uid-%d", w.uid))
}

func atoi(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
