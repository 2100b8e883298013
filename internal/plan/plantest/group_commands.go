package plantest

import (
	"maps"
	"slices"
	"strings"

	"github.com/cockroachdb/datadriven"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

// simGroups is the simulated cluster's offer of group snapshots, set by
//
//	group-snapshots served class=sroll-local driver=local [default] [claims-driver=other] [unlabelled=data-kv-1] [extra=data-kv-5]
//
// served: the VolumeGroupSnapshot API is served; class, driver, default:
// one VolumeGroupSnapshotClass; claims-driver: the claims' driver (default
// driver); unlabelled: a member's claim without the selector labels;
// extra: a bound claim of the same labels that is no member's. Without
// the command no group API is served.
type simGroups struct {
	// set: the command was given; sets are described with their group.
	set        bool
	support    snapshot.GroupSupport
	driver     string
	unlabelled string
	extra      string
}

func (s *Sim) setGroupSnapshots(d *datadriven.TestData) {
	g := simGroups{set: true, support: snapshot.GroupSupport{Served: d.HasArg("served")}}
	if class := strArg(d, "class", ""); class != "" {
		g.support.Classes = []snapshot.GroupClass{{Name: class, Driver: strArg(d, "driver", "local"), Default: d.HasArg("default")}}
	}
	g.driver = strArg(d, "claims-driver", strArg(d, "driver", "local"))
	g.unlabelled, g.extra = strArg(d, "unlabelled", ""), strArg(d, "extra", "")
	s.groups = g
}

// groupSupport is what the set controller reads of the cluster: the
// classes, and the claims as the StatefulSet controller makes them
// (the template's labels and the selector's).
func (s *Sim) groupSupport() snapshot.GroupSupport {
	g := s.groups.support
	g.Claims = map[string]snapshot.Claim{}
	labels := map[string]string{}
	maps.Copy(labels, s.Rollout.Spec.Selector.MatchLabels)
	claims := []string{s.groups.extra}
	for _, v := range snapshot.Volumes("", s.Rollout) {
		claims = append(claims, v.Claim)
	}
	for _, name := range claims {
		if name == "" {
			continue
		}
		c := snapshot.Claim{Labels: labels, Driver: s.groups.driver, Bound: true}
		if name == s.groups.unlabelled {
			c.Labels = nil
		}
		g.Claims[name] = c
	}
	return g
}

// groupState is the set's VolumeGroupSnapshot as the snapshot controllers
// make it: ready, failed or pending as state says, with one member
// VolumeSnapshot "snapshot-<claim>" per claim it selected (none yet while
// it fails). nil before the set records a group.
func (s *Sim) groupState(set *v1alpha1.RolloutSnapshot, state snapshot.VolumeState) *snapshot.GroupState {
	group := set.Status.Group
	if group == nil {
		return nil
	}
	g := &snapshot.GroupState{Ready: state.Ready, Error: state.Error, Members: map[string]snapshot.Member{}}
	if state.Error != "" {
		return g
	}
	claims := group.AlsoCaptured
	for _, v := range set.Status.Volumes {
		claims = append(claims, v.Claim)
	}
	for _, claim := range claims {
		g.Members[claim] = snapshot.Member{VolumeSnapshot: "snapshot-" + claim, VolumeState: snapshot.VolumeState{Ready: state.Ready}}
	}
	return g
}

// describeGroup is the lines of a set's group, or why it is none; empty
// in scenarios that do not speak of groups.
func (s *Sim) describeGroup(set *v1alpha1.RolloutSnapshot) string {
	g := set.Status.Group
	if !s.groups.set {
		return ""
	}
	if g == nil {
		if set.Status.NotGrouped != "" {
			return "  not grouped: " + set.Status.NotGrouped + "\n"
		}
		return ""
	}
	var b strings.Builder
	b.WriteString("  group: " + g.VolumeGroupSnapshot + " class=" + g.VolumeGroupSnapshotClassName + " selector=" + formatSelector(g.Selector))
	if g.Ready {
		b.WriteString(" ready")
	}
	if len(g.AlsoCaptured) > 0 {
		b.WriteString(" also-captured=" + strings.Join(g.AlsoCaptured, ","))
	}
	b.WriteString("\n")
	for _, v := range set.Status.Volumes {
		b.WriteString("    " + v.Claim + " -> " + orDash(v.VolumeSnapshot) + "\n")
	}
	return b.String()
}

func formatSelector(labels map[string]string) string {
	var pairs []string
	for k, v := range labels {
		pairs = append(pairs, k+"="+v)
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
