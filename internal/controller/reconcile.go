// Package controller carries out the planner's decisions for
// StatefulSetRollouts: it reads a rollout's world into a plan.Input, calls
// plan.Decide, and applies the plan in the order the plan documents. Every
// decision lives in internal/plan; this package only reads and writes.
package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/claims"
	"github.com/sroll-dev/sroll/internal/consul/watch"
	"github.com/sroll-dev/sroll/internal/event"
	"github.com/sroll-dev/sroll/internal/history"
	"github.com/sroll-dev/sroll/internal/hookrun"
	"github.com/sroll-dev/sroll/internal/measure"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/replication"
)

// staleRetry is how soon a reconcile whose write was refused because the
// cache was behind the API server (a conflict or a failed precondition) looks
// again. The watch event that brings the cache up to date usually comes
// first; the timer covers objects no watch event announces.
const staleRetry = time.Second

// errStale marks a write the API server refused because it was computed from
// an older version of the object. It is not a failure: the next reconcile
// decides again from fresh data.
var errStale = errors.New("the cache was stale")

// Reconciler reconciles StatefulSetRollouts. Build it with New; tests set the
// fields directly.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	client.Client
	// LiveReader reads pods the cache can't see (see listPods).
	LiveReader client.Reader
	// pods are the rollouts' cached pods; SetupWithManager keeps them.
	// Without them (tests), pods are listed from Client.
	pods     *rolloutPods
	Recorder events.EventRecorder
	Metrics  *Metrics
	Clock    clock.PassiveClock
	// Notifier tells the rollouts' notification targets; nil sends nothing.
	// SetupWithManager runs it with the manager.
	Notifier *notify.Dispatcher
	// Hooks runs the replication hooks; nil runs none (spec.replication is
	// then ignored). SetupWithManager runs it with the manager.
	Hooks *hookrun.Runner
	// WatchNodes reads the members' nodes, for fencing; it needs the
	// cluster-scoped permission on nodes (see nodes.go).
	WatchNodes bool
	// Measures takes the analyses' measurements; nil takes none (an
	// analysis then waits for a promote). SetupWithManager runs it with
	// the manager.
	Measures *measure.Scheduler
	// Consul watches the rollouts' Consul services; nil ignores
	// spec.rollout.consul. SetupWithManager runs it with the manager.
	Consul *watch.Watcher

	deletions deletions
	// ownWrites are this operator's writes of each rollout, and
	// ownStatefulSetWrites of its StatefulSet, not yet in the cache.
	ownWrites            ownWrites
	ownStatefulSetWrites ownWrites
	refusals             refusals
	statusWrites         statusWrites
	heldEvents           heldEvents
}

// observed is what one reconcile read of a rollout's world.
type observed struct {
	// sts is nil before the rollout's StatefulSet exists.
	sts       *appsv1.StatefulSet
	revisions []appsv1.ControllerRevision
	// pods may be the cache's own objects: read them, never write.
	// facts[i] are the planner's facts of pods[i].
	pods  []*corev1.Pod
	facts []plan.PodFacts
}

// Reconcile reads the rollout's world, asks the planner what to do and does it.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	result, err := r.reconcile(ctx, req.NamespacedName)
	if errors.Is(err, errStale) {
		ctrl.LoggerFrom(ctx).V(1).Info("Retrying after a stale read", "reason", err.Error())
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	if errors.Is(err, errRefused) {
		// The next reconcile says so in the status.
		ctrl.LoggerFrom(ctx).Info("Refused StatefulSet write: the API server refused its content", "reason", err.Error())
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	if err != nil {
		r.Metrics.reconcileErrors.Inc()
	}
	return result, err
}

func (r *Reconciler) reconcile(ctx context.Context, key types.NamespacedName) (ctrl.Result, error) {
	var rollout v1alpha1.StatefulSetRollout
	if err := r.Get(ctx, key, &rollout); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(key)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !r.ownWrites.caughtUp(key, rollout.ResourceVersion) {
		// The watch event of this operator's last write starts the next
		// reconcile; the timer covers a lost event.
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	if rollout.DeletionTimestamp != nil {
		// The garbage collector removes the StatefulSet; there is nothing to roll out.
		return ctrl.Result{}, nil
	}
	obs, err := r.observe(ctx, &rollout)
	if err != nil {
		return ctrl.Result{}, err
	}
	if obs.sts != nil && !r.ownStatefulSetWrites.caughtUp(key, obs.sts.ResourceVersion) {
		// A plan from the StatefulSet before this operator's last write
		// of it would write the same template or partition again.
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	if obs.sts != nil && !Adoptable(obs.sts, &rollout) {
		r.refuseAdoption(ctx, &rollout, obs.sts)
		return ctrl.Result{}, nil
	}
	result, template, err := r.decideAndApply(ctx, &rollout, obs)
	if err != nil || template == nil {
		return result, err
	}
	// The StatefulSet took a new template: plan again from the API server's
	// answer, so that the first batch goes now (the planner places it
	// before the StatefulSet controller observed the template) instead of
	// after a wait for the cache and a turn in the work queue.
	obs.sts = template
	result, _, err = r.decideAndApply(ctx, &rollout, obs)
	return result, err
}

// decideAndApply asks the deciders what to do in the world observed and
// does it. When that gave the StatefulSet a new template and no other
// concern holds the first batch (a replicated set's stop hooks, a snapshot
// set to take first), it returns the StatefulSet as the API server answered.
func (r *Reconciler) decideAndApply(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, obs observed) (ctrl.Result, *appsv1.StatefulSet, error) {
	key := client.ObjectKeyFromObject(rollout)
	snap, err := r.decideSnapshots(ctx, rollout, obs)
	if err != nil {
		return ctrl.Result{}, nil, err
	}
	measured, results := r.recordMeasurements(rollout)
	gate := r.consulGate(rollout, obs)
	in := plan.Input{
		Rollout:     measured,
		StatefulSet: obs.sts,
		Pods:        obs.facts,
		History:     obs.revisions,
		Replication: replication.NewGate(rollout, obs.pods),
		Consul:      gate,
		Now:         r.Clock.Now(),
		Refused:     r.refusals.of(key, rollout.Generation),
	}
	snap.input(&in)
	p := plan.Decide(in)
	rep, err := r.decideReplication(ctx, rollout, obs, p)
	if err != nil {
		r.Measures.Return(key, results)
		return ctrl.Result{}, nil, err
	}
	deferred, template, err := r.apply(ctx, rollout, obs, p, rep, snap)
	if err != nil || p.Undo != nil {
		// The status that records these measurements was not written.
		r.Measures.Return(key, results)
	}
	if err != nil {
		if rep != nil && !equality.Semantic.DeepEqual(rollout.Status.Replication, &rep.decision.Status) {
			// The status that records these results was not written.
			r.Hooks.Return(key, rep.results)
		}
		return ctrl.Result{}, nil, err
	}
	r.scheduleMeasurements(rollout, p)
	r.watchConsul(rollout, gate, obs, p)
	requeue := sooner(sooner(p.RequeueAfter, deferred), snap.requeueAfter())
	if rep != nil {
		requeue = sooner(requeue, rep.decision.RequeueAfter)
	}
	if rep != nil || snap != nil || rollout.Spec.Replication != nil {
		template = nil
	}
	return ctrl.Result{RequeueAfter: requeue}, template, nil
}

// observe reads the StatefulSet, its history and its pods. Pods this operator
// deleted but the cache still shows running come back marked terminating. Of
// a StatefulSet another controller owns it reads nothing more.
func (r *Reconciler) observe(ctx context.Context, rollout *v1alpha1.StatefulSetRollout) (observed, error) {
	var obs observed
	var sts appsv1.StatefulSet
	if err := r.Get(ctx, client.ObjectKeyFromObject(rollout), &sts); err != nil {
		if apierrors.IsNotFound(err) {
			return obs, nil
		}
		return obs, fmt.Errorf("get StatefulSet: %w", err)
	}
	obs.sts = &sts
	if !Adoptable(&sts, rollout) {
		return obs, nil
	}
	var err error
	if obs.revisions, err = history.List(ctx, r, &sts); err != nil {
		return obs, err
	}
	if obs.pods, obs.facts, err = r.listPods(ctx, &sts, obs.revisions); err != nil {
		return obs, err
	}
	r.deletions.observe(client.ObjectKeyFromObject(rollout), obs.pods, obs.facts)
	return obs, nil
}

// apply carries out a plan in the order plan.Plan documents. This is the one
// place the order is written down:
//
//  0. an undo is the rollout's own update, alone;
//  1. the status, one write merged from each concern's part (statusToWrite),
//     so a restarted operator resumes from what was decided (a seed, a
//     promotion, a fencing confirmation is on record before its hook runs
//     or its taint is put), then the replication hooks, fencing calls,
//     taints and events, which only that write allows, and the snapshot
//     sets it names (internal/snapshot);
//  2. what describes the status just committed: events (with those of the
//     plans deferred since the last write; the waves' BatchDeleted are
//     gathered over eventWindow, heldEvents), metrics and notifications,
//     now, so that a later step failing does not lose them;
//  3. a storage increase's claims (internal/claims), and when it replaces
//     the StatefulSet, its orphan deletion, after which nothing below
//     happens: the next reconcile creates the StatefulSet again;
//  4. the governing Service, when missing, so that the pods' names resolve
//     from their start; then the StatefulSet, whose partition authorises
//     the deletions; a write the API server refuses for its content is
//     remembered for the planner (plan.Input.Refused), and nothing below
//     happens;
//  5. the deletions;
//  6. the removal of the action annotations carried out.
//
// A status that differs only in what it reports of the observed world
// (observedOnly) decides nothing a restart would lose, so 1 and 2 come after
// 3 to 6: the partition alone carries the decision, and the status round trip
// stays out of each wave of deletions. Such a status is also written at most
// once per statusInterval, and in turn with the other rollouts' (statusWrites),
// since a rollout's pods change every few milliseconds and each change would
// be a write; apply then returns when the deferred status, or the held
// BatchDeleted, is due. When the
// StatefulSet took a new template, apply returns it as the API server
// answered.
func (r *Reconciler) apply(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, obs observed, p plan.Plan, rep *replicationStep, snap *snapshotStep) (time.Duration, *appsv1.StatefulSet, error) {
	if p.Undo != nil {
		return 0, nil, r.undo(ctx, rollout, p)
	}
	previous := rollout.Status.DeepCopy()
	resize, err := r.decideClaims(ctx, rollout, obs.sts, &p)
	if err != nil {
		return 0, nil, err
	}
	want := r.statusToWrite(rollout, p, resize, rep, snap)
	if !observedOnly(rollout.Status, want) {
		if err := r.commit(ctx, rollout, obs, p, rep, snap, previous, want, true); err != nil {
			return 0, nil, err
		}
		template, err := r.act(ctx, rollout, obs, p, previous, resize)
		return 0, template, err
	}
	template, err := r.act(ctx, rollout, obs, p, previous, resize)
	if err != nil {
		return 0, nil, err
	}
	// What the events tell happened, whether or not the status is written now.
	r.heldEvents.hold(rollout, p.Events, p.Delete)
	key := client.ObjectKeyFromObject(rollout)
	var deferred time.Duration
	if !equality.Semantic.DeepEqual(rollout.Status, want) {
		deferred = r.statusWrites.wait(key, r.Clock.Now())
	}
	if deferred == 0 {
		if err := r.commit(ctx, rollout, obs, p, rep, snap, previous, want, false); err != nil {
			return 0, nil, err
		}
	}
	told, tell := r.heldEvents.due(key, r.Clock.Now())
	r.recordEvents(rollout, actionRollout, told)
	return sooner(deferred, tell), template, nil
}

// commit is steps 1 and 2 of apply: it writes the status want over previous,
// then starts the replication hooks that write allows and records what
// describes it. decision says whether want decides something (not
// observedOnly), which apply has judged already.
func (r *Reconciler) commit(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, obs observed, p plan.Plan, rep *replicationStep, snap *snapshotStep,
	previous *v1alpha1.StatefulSetRolloutStatus, want v1alpha1.StatefulSetRolloutStatus, decision bool) error {
	written, err := r.writeStatus(ctx, rollout, want)
	if err != nil {
		return err
	}
	r.statusWrites.committed(client.ObjectKeyFromObject(rollout), r.Clock.Now(), written)
	var replicated error
	if rep != nil {
		replicated = r.replicate(ctx, rollout, rep)
	}
	snapped := r.takeSnapshots(ctx, rollout, snap)
	r.recordEvents(rollout, actionRollout, r.eventsOf(rollout, p, decision))
	r.warnRefusals(rollout, previous.Notifications)
	r.Metrics.observe(rollout, previous, r.Clock.Now())
	r.notify(rollout, previous, obs, p.View)
	return errors.Join(replicated, snapped)
}

// eventsOf are the events to record with a status just written: a
// decision's own, with everything held before them; for a report, whose
// plan's events apply holds, those held but the waves' BatchDeleted, which
// wait for eventWindow (heldEvents).
func (r *Reconciler) eventsOf(rollout *v1alpha1.StatefulSetRollout, p plan.Plan, decision bool) []event.Event {
	if decision {
		return r.heldEvents.all(rollout, p.Events, r.Clock.Now())
	}
	return r.heldEvents.others(client.ObjectKeyFromObject(rollout))
}

// act is steps 3 to 6 of apply; it returns the StatefulSet when it gave it
// a new template.
func (r *Reconciler) act(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, obs observed, p plan.Plan,
	previous *v1alpha1.StatefulSetRolloutStatus, resize claims.Decision) (*appsv1.StatefulSet, error) {
	replaced, err := r.resizeClaims(ctx, rollout, obs.sts, previous.ClaimResize == nil && resize.Record != nil, resize)
	if err != nil || replaced {
		return nil, err // replaced: the next reconcile creates the StatefulSet
	}
	if err := r.ensureService(ctx, rollout); err != nil {
		return nil, err
	}
	key := client.ObjectKeyFromObject(rollout)
	template, err := r.writeStatefulSet(ctx, rollout, obs.sts, obs.revisions, p)
	if err != nil {
		if Refused(err) {
			r.refusals.refused(key, rollout.Generation, err)
			return nil, fmt.Errorf("%w: %w", errRefused, err)
		}
		return nil, err
	}
	r.refusals.forget(key)
	if err := r.deletePods(ctx, rollout, p.Delete); err != nil {
		return nil, err
	}
	return template, r.removeActions(ctx, rollout, p.HandledActions)
}

// forget drops what is remembered about a deleted rollout.
func (r *Reconciler) forget(key types.NamespacedName) {
	if r.pods != nil {
		r.pods.forget(key)
	}
	r.deletions.forget(key)
	r.ownWrites.forget(key)
	r.ownStatefulSetWrites.forget(key)
	r.refusals.forget(key)
	r.statusWrites.forget(key)
	if rollout, events := r.heldEvents.forget(key); len(events) > 0 {
		// Deleted, the rollout is still what the events regard.
		r.recordEvents(rollout, actionRollout, events)
	}
	r.Metrics.forget(key)
	if r.Hooks != nil {
		r.Hooks.Forget(key)
	}
	if r.Notifier != nil {
		r.Notifier.Forget(key)
	}
	if r.Measures != nil {
		r.Measures.Forget(key)
	}
	if r.Consul != nil {
		r.Consul.Forget(key)
	}
}

// sooner is the earlier of two requeue delays, 0 meaning none.
func sooner(a, b time.Duration) time.Duration {
	if a == 0 || (b > 0 && b < a) {
		return b
	}
	return a
}

// staleOr wraps err in errStale when the API server refused a write computed
// from an older version of the object.
func staleOr(err error) error {
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("%w: %w", errStale, err)
	}
	return err
}
