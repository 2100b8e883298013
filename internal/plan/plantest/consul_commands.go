package plantest

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/consul"
	"github.com/sroll-dev/sroll/internal/plan"
)

// consulCommands set Consul up and play its side:
//
//	consul drain=10 [require-healthy]   (spec.rollout.consul; every pod has a passing instance named after it)
//	consul-check kv-3 critical          (the instance's own checks: passing or critical)
//	consul-down / consul-up             (the watcher's reads fail / succeed again)
//	consul                              (print the instances)
//
// Apply plays the Consul watcher after the plan: the instances of the
// pods handed over are put in maintenance (now), and sroll's maintenance
// of an earlier pod of the same name is lifted, as internal/consul/watch
// does.
func consulCommands(s *Sim, t *testing.T, d *datadriven.TestData) (string, bool) {
	switch d.Cmd {
	case "consul":
		if len(d.CmdArgs) == 0 {
			return s.describeConsul(), true
		}
		s.Rollout.Spec.Rollout.Consul = &v1alpha1.Consul{
			Address: "http://consul:8500", Service: Name,
			DrainSeconds: int32(intArg(d, "drain", 0)), RequireHealthy: d.HasArg("require-healthy"),
		}
		s.Rollout.Generation++
		s.consul = &simConsul{instances: map[string]*simInstance{}}
		for _, pod := range s.pods {
			s.consul.instances[pod.Name] = &simInstance{passing: true}
		}
	case "consul-check":
		in := s.consul.instance(d.CmdArgs[0].Key)
		in.passing = d.CmdArgs[1].Key == "passing"
	case "consul-down", "consul-up":
		s.consul.down = d.Cmd == "consul-down"
	default:
		return "", false
	}
	return "", true
}

// simConsul is the simulated Consul: one instance per pod name, which
// outlives the pod (the registration is the agent's).
type simConsul struct {
	instances map[string]*simInstance
	down      bool
}

type simInstance struct {
	passing bool
	drain   *consul.Drain
}

func (c *simConsul) instance(pod string) *simInstance {
	in, ok := c.instances[pod]
	if !ok {
		in = &simInstance{passing: true}
		c.instances[pod] = in
	}
	return in
}

// observation is what the watcher would read.
func (c *simConsul) observation(s *Sim) *consul.Observation {
	if c.down {
		return &consul.Observation{Err: "connection refused", At: s.Now}
	}
	obs := &consul.Observation{At: s.Now}
	for _, name := range c.names() {
		in := c.instances[name]
		obs.Instances = append(obs.Instances, consul.Instance{ID: name, Passing: in.passing && in.drain == nil, Drain: in.drain})
	}
	return obs
}

func (c *simConsul) names() []string {
	names := make([]string, 0, len(c.instances))
	for name := range c.instances {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// watch plays the watcher after a plan was applied.
func (c *simConsul) watch(s *Sim, in plan.Input, p plan.Plan) {
	if c.down {
		return
	}
	gate := in.Consul
	for _, id := range gate.Undrained(s.Pods()) {
		c.instance(id).drain = nil
	}
	for _, name := range p.Handover {
		pod := s.pods[ordinal(name)]
		if inst := c.instance(name); inst.drain == nil || inst.drain.UID != pod.UID {
			inst.drain = &consul.Drain{UID: pod.UID, Since: s.Now}
		}
	}
}

func (s *Sim) describeConsul() string {
	var b strings.Builder
	for _, name := range s.consul.names() {
		in := s.consul.instances[name]
		state := "critical"
		if in.passing {
			state = "passing"
		}
		if in.drain != nil {
			state += fmt.Sprintf(" maintenance(pod %s since %s)", s.uidOwner(in.drain.UID), in.drain.Since.Format("15:04:05"))
		}
		fmt.Fprintf(&b, "%s: %s\n", name, state)
	}
	return b.String()
}

// uidOwner says whether a UID is the current pod's of its name ("current")
// or an earlier one's ("gone").
func (s *Sim) uidOwner(uid types.UID) string {
	for _, pod := range s.pods {
		if pod.UID == uid {
			return "current"
		}
	}
	return "gone"
}
