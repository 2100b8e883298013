package snapshot

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/names"
)

// memberPoll is how often a ready group's members are looked at again
// until they are ready too.
const memberPoll = time.Second

// GroupSupport is what the cluster offers for group snapshots, read when
// a set decides what it captures (its first round).
type GroupSupport struct {
	// Served: the cluster serves VolumeGroupSnapshots
	// (groupsnapshot.storage.k8s.io/v1) and the operator watches them.
	Served bool
	// Classes are the cluster's VolumeGroupSnapshotClasses.
	Classes []GroupClass
	// Claims are the PersistentVolumeClaims of the set's namespace, by
	// name: the members' and any other the group's selector would select.
	Claims map[string]Claim
	// Unreadable says why the classes could not be read (a namespaced
	// install may not list cluster-scoped classes); empty when they were.
	Unreadable string
}

// GroupClass is one VolumeGroupSnapshotClass.
type GroupClass struct {
	Name, Driver string
	// Default: annotated groupsnapshot.storage.kubernetes.io/is-default-class.
	Default bool
}

// Claim is what a set needs to know of one PersistentVolumeClaim.
type Claim struct {
	Labels map[string]string
	// Driver is the provisioner of its StorageClass (the CSI driver of
	// its volume); empty when it has no class.
	Driver string
	Bound  bool
}

// GroupState is what the snapshot controllers report of a set's
// VolumeGroupSnapshot.
type GroupState struct {
	// Foreign: a VolumeGroupSnapshot of the set's name exists that the
	// set does not own.
	Foreign bool
	// Cut: the storage took the group's point-in-time copy (its
	// status.creationTime is set), so every member is cut and the members
	// may be thawed.
	Cut   bool
	Ready bool
	// Error is status.error.message; empty when none.
	Error string
	// Members are its member VolumeSnapshots, by the claim each captured.
	Members map[string]Member
}

// Member is one member VolumeSnapshot of a group.
type Member struct {
	VolumeSnapshot string
	VolumeState
}

// GroupSelector is the labels a group of the rollout's claims selects
// them by: the StatefulSet's selector labels, which the StatefulSet
// controller copies onto every claim it makes (and a restore onto every
// claim it makes again), plus the labels every claim template shares. No
// label is written to a claim: sroll never changes the user's claims to
// take a snapshot. Empty when the selector has no matchLabels.
func GroupSelector(r *v1alpha1.StatefulSetRollout) map[string]string {
	if r.Spec.Selector == nil || len(r.Spec.Selector.MatchLabels) == 0 {
		return nil
	}
	var shared map[string]string
	for i, t := range r.Spec.VolumeClaimTemplates {
		if i == 0 {
			shared = maps.Clone(t.Labels)
			continue
		}
		maps.DeleteFunc(shared, func(k, v string) bool { return t.Labels[k] != v })
	}
	selector := map[string]string{}
	maps.Copy(selector, shared)
	maps.Copy(selector, r.Spec.Selector.MatchLabels)
	return selector
}

// chooseGroup decides, in the set's first round, whether the set is one
// VolumeGroupSnapshot: it records the group in the status (the member
// VolumeSnapshots' names are the snapshot controller's, known once they
// exist), or fails the set (group: Always and no group can be taken), or
// leaves the set one VolumeSnapshot per claim, recording why (Auto).
func (d *SetDecision) chooseGroup(in SetInput) {
	spec := in.Set.Spec
	policy := spec.GroupOrDefault()
	if policy == v1alpha1.SnapshotGroupNever {
		return
	}
	if policy == v1alpha1.SnapshotGroupAuto && spec.VolumeSnapshotClassName != "" && spec.VolumeGroupSnapshotClassName == "" {
		// The class named is used as asked: a group would not use it.
		d.Status.NotGrouped = "volumeSnapshotClassName " + spec.VolumeSnapshotClassName + " is named, and no volumeGroupSnapshotClassName"
		return
	}
	group, why := groupFor(in, d.Status.Volumes)
	switch {
	case group != nil:
		d.Status.Group = group
		for i := range d.Status.Volumes {
			d.Status.Volumes[i].VolumeSnapshot = ""
		}
	case policy == v1alpha1.SnapshotGroupAlways:
		d.fail(in, "group is Always, but no VolumeGroupSnapshot can be taken: "+why)
	default:
		d.Status.NotGrouped = why
	}
}

// groupFor is the group that captures the set's volumes, or nil and why
// none can be taken.
func groupFor(in SetInput, volumes []v1alpha1.SnapshotVolume) (*v1alpha1.SnapshotGroup, string) {
	g := in.Groups
	switch {
	case !g.Served:
		return nil, "the cluster serves no VolumeGroupSnapshot API (groupsnapshot.storage.k8s.io/v1)"
	case g.Unreadable != "":
		return nil, g.Unreadable
	}
	selector := GroupSelector(in.Rollout)
	if len(selector) == 0 {
		return nil, "the rollout's selector has no matchLabels to select its claims by"
	}
	members := map[string]bool{}
	drivers := map[string]bool{}
	var unbound, unlabelled, noClass []string
	for _, v := range volumes {
		members[v.Claim] = true
		c, ok := g.Claims[v.Claim]
		switch {
		case !ok || !c.Bound:
			unbound = append(unbound, v.Claim)
		case !selects(selector, c.Labels):
			unlabelled = append(unlabelled, v.Claim)
		case c.Driver == "":
			noClass = append(noClass, v.Claim)
		default:
			drivers[c.Driver] = true
		}
	}
	switch {
	case len(unbound) > 0:
		return nil, "claims not bound: " + names.Summary(unbound)
	case len(unlabelled) > 0:
		return nil, fmt.Sprintf("claims %s lack the labels %s", names.Summary(unlabelled), formatLabels(selector))
	case len(noClass) > 0:
		return nil, "claims without a StorageClass, whose driver is unknown: " + names.Summary(noClass)
	case len(drivers) > 1:
		return nil, "the claims are of several drivers: " + strings.Join(slices.Sorted(maps.Keys(drivers)), ", ")
	}
	driver := slices.Collect(maps.Keys(drivers))[0]
	var also []string
	for _, name := range slices.Sorted(maps.Keys(g.Claims)) {
		c := g.Claims[name]
		if members[name] || !selects(selector, c.Labels) {
			continue
		}
		if !c.Bound || c.Driver != driver {
			// The snapshot controller would refuse the whole group.
			return nil, fmt.Sprintf("claim %s, no member's, has the labels %s and is not a bound claim of %s", name, formatLabels(selector), driver)
		}
		also = append(also, name)
	}
	class, why := groupClass(g.Classes, in.Set.Spec.VolumeGroupSnapshotClassName, driver)
	if class == "" {
		return nil, why
	}
	return &v1alpha1.SnapshotGroup{VolumeGroupSnapshot: in.Set.Name, VolumeGroupSnapshotClassName: class, Selector: selector, AlsoCaptured: also}, ""
}

// groupClass is the VolumeGroupSnapshotClass of driver to take the group
// with: the one named, else the driver's one default; or empty and why.
func groupClass(classes []GroupClass, named, driver string) (string, string) {
	var defaults []string
	for _, c := range classes {
		switch {
		case named != "" && c.Name == named && c.Driver != driver:
			return "", fmt.Sprintf("VolumeGroupSnapshotClass %s is of driver %s, the claims are of %s", named, c.Driver, driver)
		case named != "" && c.Name == named:
			return named, ""
		case c.Default && c.Driver == driver:
			defaults = append(defaults, c.Name)
		}
	}
	switch {
	case named != "":
		return "", "no VolumeGroupSnapshotClass " + named
	case len(defaults) == 0:
		return "", "no default VolumeGroupSnapshotClass for driver " + driver
	case len(defaults) > 1:
		slices.Sort(defaults)
		return "", fmt.Sprintf("%d default VolumeGroupSnapshotClasses for driver %s (%s): name one in volumeGroupSnapshotClassName", len(defaults), driver, strings.Join(defaults, ", "))
	}
	return defaults[0], ""
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func formatLabels(labels map[string]string) string {
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		pairs = append(pairs, k+"="+labels[k])
	}
	return strings.Join(pairs, ",")
}

// groupVolumes follows the set's group: it asks for the group while it
// does not exist, records its readiness and error, and maps each claim to
// the member VolumeSnapshot that captured it. It returns the claims still
// waited for and the failures, as the per-claim path does.
func (d *SetDecision) groupVolumes(in SetInput) (waiting, failed []string, cut int) {
	st := &d.Status
	group := st.Group
	observed := in.Group
	switch {
	case observed == nil:
		d.CreateGroup = true
		for _, v := range st.Volumes {
			waiting = append(waiting, v.Claim)
		}
		return waiting, nil, 0
	case observed.Foreign:
		return nil, []string{fmt.Sprintf("VolumeGroupSnapshot %s exists and is not this set's", group.VolumeGroupSnapshot)}, 0
	}
	var t tally
	group.Ready, group.Error = observed.Ready, observed.Error
	if Failed(group.Error) && !group.Ready {
		t.failed = append(t.failed, "VolumeGroupSnapshot "+group.VolumeGroupSnapshot+": "+group.Error)
	}
	for i := range st.Volumes {
		v := &st.Volumes[i]
		m, ok := observed.Members[v.Claim]
		switch {
		case !ok && group.Ready:
			// Every member exists before the group is ready.
			t.failed = append(t.failed, fmt.Sprintf("%s: not in VolumeGroupSnapshot %s (its labels changed after the set started?)", v.Claim, group.VolumeGroupSnapshot))
		case !ok:
			t.waiting = append(t.waiting, v.Claim)
		default:
			v.VolumeSnapshot = m.VolumeSnapshot
			t.add(st, v, m.VolumeState)
		}
	}
	if len(t.waiting) == 0 && len(t.failed) == 0 && !group.Ready {
		t.waiting = append(t.waiting, "VolumeGroupSnapshot "+group.VolumeGroupSnapshot)
	}
	if observed.Cut {
		t.cut = len(st.Volumes)
	}
	return t.waiting, t.failed, t.cut
}
