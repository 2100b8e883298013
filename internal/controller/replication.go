package controller

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/replication"
)

const actionReplication = "Replication"

// replicationStep is one reconcile's replication part: the decision and
// the hook results it was made from, given back to the runner if the
// status that records them is not written.
type replicationStep struct {
	decision  replication.Decision
	results   []replication.Result
	container string
}

// decideReplication asks the replication decider, for a rollout with
// spec.replication whose StatefulSet exists. The plan's batch (deleted, or
// waiting for its handover) and a scale-down's leaving members are the
// members to stop.
func (r *Reconciler) decideReplication(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, obs observed, p plan.Plan) (*replicationStep, error) {
	spec := rollout.Spec.Replication
	if spec == nil || r.Hooks == nil || obs.sts == nil {
		return nil, nil
	}
	nodes, err := r.observeNodes(ctx, obs.pods, rollout.Status.Replication)
	if err != nil {
		return nil, err
	}
	key := client.ObjectKeyFromObject(rollout)
	container := replication.Container(*spec, rollout.Spec.Template.Spec)
	in := replication.Input{
		Spec: *spec, Set: obs.sts.Name, Namespace: rollout.Namespace, Service: rollout.Spec.ServiceName,
		Replicas: p.TargetReplicas, Status: rollout.Status.Replication,
		Leaving: map[string]bool{}, Nodes: nodes, Now: r.Clock.Now(),
	}
	for _, pod := range obs.pods {
		if m, ok := replication.MemberOf(obs.sts.Name, pod, container); ok {
			m.Updated = pod.Labels[appsv1.ControllerRevisionHashLabelKey] == p.Status.UpdateRevision
			in.Members = append(in.Members, m)
		}
	}
	for _, ref := range p.Delete {
		in.Leaving[ref.Name] = true
	}
	for _, name := range p.Handover {
		in.Leaving[name] = true
	}
	in.Results, in.Busy, in.LastRun = r.Hooks.Observe(key)
	return &replicationStep{decision: replication.Decide(in), results: in.Results, container: container}, nil
}

// replicate carries out what the decision's status write allows: the
// hooks and fencing calls it asks for, the taints, and its events.
func (r *Reconciler) replicate(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, step *replicationStep) error {
	r.recordEvents(rollout, actionReplication, step.decision.Events)
	for _, run := range step.decision.Run {
		if err := r.Hooks.Go(rollout, step.container, run); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Refused a hook", "member", run.Member, "hook", run.Hook.String())
			continue
		}
		ctrl.LoggerFrom(ctx).V(1).Info("Started a hook", "member", run.Member, "hook", run.Hook.String(), "node", run.Node)
	}
	return r.taintNodes(ctx, step.decision)
}
