// Package consul is what the rollout planner reads of Consul: whether a
// pod's instance is healthy, and whether it was drained (in maintenance
// mode long enough) so that the pod may be deleted. It is pure: the
// watcher (internal/consul/watch) observes Consul and puts instances in
// maintenance, and a Gate judges the pods from its last observation.
//
// The drain is recorded in Consul itself: sroll's maintenance reason names
// the pod's UID and when the drain started, so a restarted operator reads
// it back instead of starting the drain again, and a recreated pod of the
// same name is not taken for the drained one.
package consul

import (
	"fmt"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Instance is one instance of the service as Consul reports it.
type Instance struct {
	// ID is the service ID; Address the service's (or else its node's) address.
	ID      string
	Address string
	// Passing is true when every check of the instance passes.
	Passing bool
	// Drain is sroll's maintenance of the instance; nil when none.
	Drain *Drain
}

// Drain is sroll's maintenance mode on an instance, read from its reason.
type Drain struct {
	// UID is the pod the instance was drained for.
	UID   types.UID
	Since time.Time
}

// Observation is what the watcher last read of the service.
type Observation struct {
	Instances []Instance
	// Err is why the last read failed: then nothing is known (no pod is
	// taken for healthy or drained).
	Err string
	At  time.Time
}

// MaintenanceReason is the reason sroll sets when it drains a pod's
// instance; ParseReason reads it back. since is rounded up to the second
// the reason keeps: a drain is never taken for older than it is.
func MaintenanceReason(pod string, uid types.UID, since time.Time) string {
	if rounded := since.Truncate(time.Second); rounded.Before(since) {
		since = rounded.Add(time.Second)
	}
	return fmt.Sprintf("sroll: draining pod %s (uid %s) before its deletion, since %s", pod, uid, since.UTC().Format(time.RFC3339))
}

var reasonPattern = regexp.MustCompile(`^sroll: draining pod \S+ \(uid (\S+)\) before its deletion, since (\S+)$`)

// ParseReason reads a maintenance reason MaintenanceReason wrote; nil for
// another one (an operator's own maintenance).
func ParseReason(reason string) *Drain {
	m := reasonPattern.FindStringSubmatch(reason)
	if m == nil {
		return nil
	}
	since, err := time.Parse(time.RFC3339, m[2])
	if err != nil {
		return nil
	}
	return &Drain{UID: types.UID(m[1]), Since: since}
}

// Gate judges a rollout's pods by their Consul instances. A nil Gate (no
// spec.rollout.consul) passes every pod.
type Gate struct {
	spec v1alpha1.Consul
	// observed is false before the watcher's first answer: then nothing is
	// known to be healthy or drained.
	observed bool
	byPod    map[string]Instance
	now      time.Time
}

// NewGate is the gate of a rollout with spec.rollout.consul (nil without),
// matching the observed instances to the pods by service ID or address.
func NewGate(rollout *v1alpha1.StatefulSetRollout, obs *Observation, pods []*corev1.Pod, now time.Time) *Gate {
	spec := rollout.Spec.Rollout.Consul
	if spec == nil {
		return nil
	}
	g := &Gate{spec: *spec, byPod: map[string]Instance{}, now: now}
	if obs == nil || obs.Err != "" {
		return g
	}
	g.observed = true
	byAddress := map[string]string{}
	for i := range pods {
		if ip := pods[i].Status.PodIP; ip != "" {
			byAddress[ip] = pods[i].Name
		}
	}
	for _, in := range obs.Instances {
		name, ok := byAddress[in.Address]
		if !ok {
			name = in.ID
		}
		g.byPod[name] = in
	}
	return g
}

// Healthy reports whether a pod on the update revision counts as available
// as far as Consul is concerned: always without requireHealthy, else only
// while its instance's checks pass.
func (g *Gate) Healthy(pod string) bool {
	if g == nil || !g.spec.RequireHealthy {
		return true
	}
	in, ok := g.byPod[pod]
	return g.observed && ok && in.Passing
}

// Drained reports whether the pod (this incarnation of it) may be deleted:
// its instance has been in sroll's maintenance for drainSeconds, or it has
// no instance to drain. Otherwise it says how long the drain still takes
// (0 when it has not started: the watcher starts it).
func (g *Gate) Drained(pod string, uid types.UID) (bool, time.Duration) {
	if g == nil {
		return true, 0
	}
	if !g.observed {
		return false, 0
	}
	in, ok := g.byPod[pod]
	if !ok {
		return true, 0
	}
	if in.Drain == nil || in.Drain.UID != uid {
		return false, 0
	}
	left := in.Drain.Since.Add(time.Duration(g.spec.DrainSeconds) * time.Second).Sub(g.now)
	return left <= 0, max(0, left)
}

// Undrained are the pods' instances in sroll's maintenance for an earlier
// pod of the same name: the handover is over once that pod is gone, so the
// watcher takes them out of maintenance. Instance IDs, in the pods' order.
func (g *Gate) Undrained(pods []*corev1.Pod) []string {
	if g == nil {
		return nil
	}
	var ids []string
	for i := range pods {
		in, ok := g.byPod[pods[i].Name]
		if ok && in.Drain != nil && in.Drain.UID != pods[i].UID {
			ids = append(ids, in.ID)
		}
	}
	return ids
}

// InstanceOf is the ID of a pod's instance; false when it has none.
func (g *Gate) InstanceOf(pod string) (string, bool) {
	if g == nil {
		return "", false
	}
	in, ok := g.byPod[pod]
	return in.ID, ok
}

// DrainRequest is an instance to put in maintenance for a pod.
type DrainRequest struct {
	Instance string
	Pod      string
	UID      types.UID
}

// ToDrain are the instances of the pods handed over (Plan.Handover) that
// are not in sroll's maintenance for the pod yet, in the handover's order.
// A pod without an instance has nothing to drain.
func (g *Gate) ToDrain(handover []string, pods []*corev1.Pod) []DrainRequest {
	if g == nil || !g.observed {
		return nil
	}
	uids := map[string]types.UID{}
	for i := range pods {
		uids[pods[i].Name] = pods[i].UID
	}
	var out []DrainRequest
	for _, name := range handover {
		in, ok := g.byPod[name]
		uid, exists := uids[name]
		if !ok || !exists || (in.Drain != nil && in.Drain.UID == uid) {
			continue
		}
		out = append(out, DrainRequest{Instance: in.ID, Pod: name, UID: uid})
	}
	return out
}
