package controller

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/consul"
	"github.com/sroll-dev/sroll/internal/plan"
)

// The Consul watcher (internal/consul/watch) meets the reconcile at two
// points, like the measurement scheduler: its last read of the rollout's
// service becomes the planner's consul.Gate (consulGate), and after the
// plan was applied it is asked to drain the pods the plan hands over and
// to lift sroll's maintenance of pods already replaced (watchConsul).

// consulGate is the planner's view of the rollout's Consul service; nil
// without spec.rollout.consul or without a watcher (Consul is then ignored).
func (r *Reconciler) consulGate(rollout *v1alpha1.StatefulSetRollout, obs observed) *consul.Gate {
	if r.Consul == nil {
		return nil
	}
	key := client.ObjectKeyFromObject(rollout)
	if rollout.Spec.Rollout.Consul == nil {
		r.Consul.Forget(key)
		return nil
	}
	return consul.NewGate(rollout, r.Consul.Observe(key), obs.pods, r.Clock.Now())
}

// watchConsul hands the watcher what the plan, whose status is written,
// asks of Consul.
func (r *Reconciler) watchConsul(rollout *v1alpha1.StatefulSetRollout, gate *consul.Gate, obs observed, p plan.Plan) {
	if r.Consul == nil || rollout.Spec.Rollout.Consul == nil {
		return
	}
	r.Consul.Watch(rollout, gate.ToDrain(p.Handover, obs.pods), gate.Undrained(obs.pods))
}
