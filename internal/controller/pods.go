package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/history"
	"github.com/sroll-dev/sroll/internal/plan"
)

// listPods returns the pods the StatefulSet selects, and their facts. The
// cache holds only pods labelled sroll.dev/rollout (see CacheOptions); they
// are read as its pod watch delivered them (rolloutPods), or listed from it
// when the reconciler was built without a manager (tests). Until every pod
// of the StatefulSet carries the rollout's label, which is right after an adoption or during a
// rollback to a revision from before it, the pods are read from the API
// server instead.
func (r *Reconciler) listPods(ctx context.Context, sts *appsv1.StatefulSet, revisions []appsv1.ControllerRevision) ([]*corev1.Pod, []plan.PodFacts, error) {
	selector, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return nil, nil, fmt.Errorf("selector of StatefulSet %s: %w", sts.Name, err)
	}
	rollout, labelled := podsLabelled(sts, revisions)
	if labelled && r.pods != nil {
		pods, facts := r.pods.of(sts.Namespace, rollout, selector)
		return pods, facts, nil
	}
	opts := []client.ListOption{client.InNamespace(sts.Namespace), client.MatchingLabelsSelector{Selector: selector}}
	var reader client.Reader = r.Client
	if !labelled {
		reader = r.LiveReader
	}
	var list corev1.PodList
	if err := reader.List(ctx, &list, opts...); err != nil {
		return nil, nil, fmt.Errorf("list pods: %w", err)
	}
	pods := plan.PodsOf(&list)
	return pods, plan.FactsOfEach(pods), nil
}

// podsLabelled says whether every pod of sts carries the rollout label its
// template gives them, and which: its template does, and so do the revisions
// its pods run (a ControllerRevision carries its template's labels). Pods run
// the current or the update revision; a revision in between only exists
// while a new template is set in the middle of a rollback to a revision from
// before the adoption.
func podsLabelled(sts *appsv1.StatefulSet, revisions []appsv1.ControllerRevision) (string, bool) {
	rollout, ok := sts.Spec.Template.Labels[v1alpha1.LabelRollout]
	if !ok {
		return "", false
	}
	for _, name := range []string{sts.Status.CurrentRevision, sts.Status.UpdateRevision} {
		if name == "" {
			continue
		}
		rev := history.Find(revisions, name)
		if rev == nil || rev.Labels[v1alpha1.LabelRollout] != rollout {
			return "", false
		}
	}
	return rollout, true
}

// deleteConcurrency bounds the deletions of one batch in flight at once: a
// batch of a hundred pods goes out in a few round trips instead of a hundred.
const deleteConcurrency = 16

// deletePods deletes the planned pods, each only if it is still the version
// the planner saw (UID and resourceVersion preconditions), several at once:
// the partition already authorised all of them, so their order does not
// matter. A pod that changed meanwhile is left alone and the reconcile
// retried, unless it changed by being deleted: the StatefulSet controller
// may replace a pod the partition authorised first (the planner's
// lookahead), and that deletion is the one the plan wanted. The others are
// deleted.
func (r *Reconciler) deletePods(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, refs []plan.PodRef) error {
	log := ctrl.LoggerFrom(ctx)
	key := client.ObjectKeyFromObject(rollout)
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	slots := make(chan struct{}, deleteConcurrency)
	for i, ref := range refs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: ref.Name, Namespace: rollout.Namespace}}
			errs[i] = r.Delete(ctx, pod, client.Preconditions{UID: &ref.UID, ResourceVersion: &ref.ResourceVersion})
			if errs[i] == nil {
				r.deletions.expect(key, ref.UID, r.Clock.Now())
				log.Info("Deleted pod", "pod", ref.Name, "uid", ref.UID)
				return
			}
			if apierrors.IsConflict(errs[i]) {
				if gone, err := r.goneAlready(ctx, rollout.Namespace, ref); err != nil || gone {
					errs[i] = err
				}
			}
			if errs[i] == nil || apierrors.IsNotFound(errs[i]) {
				// Deleted by someone else: until the cache shows it, the
				// planner must not count it as available.
				r.deletions.expect(key, ref.UID, r.Clock.Now())
				log.V(1).Info("Found pod deleted already", "pod", ref.Name, "uid", ref.UID)
				errs[i] = errDeletedAlready
			}
		})
	}
	wg.Wait()
	var deleted int
	var changed []string
	var failed error
	for i, err := range errs {
		switch {
		case err == nil:
			deleted++
		case errors.Is(err, errDeletedAlready):
			// What the deletion wanted.
		case apierrors.IsConflict(err):
			changed = append(changed, refs[i].Name)
		case failed == nil:
			failed = fmt.Errorf("delete pod %s: %w", refs[i].Name, err)
		}
	}
	r.Metrics.podsDeleted(rollout, deleted)
	if failed != nil {
		return failed
	}
	if len(changed) > 0 {
		return fmt.Errorf("%w: pods %v changed since they were observed", errStale, changed)
	}
	return nil
}

// errDeletedAlready marks a planned deletion someone else did first.
var errDeletedAlready = errors.New("deleted already")

// goneAlready says whether the pod a deletion was refused for is deleted:
// terminating, gone, or replaced by a pod of the same name, as the API
// server (not the cache) has it.
func (r *Reconciler) goneAlready(ctx context.Context, namespace string, ref plan.PodRef) (bool, error) {
	var pod corev1.Pod
	err := r.LiveReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &pod)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("get pod %s: %w", ref.Name, err)
	}
	return pod.UID != ref.UID || pod.DeletionTimestamp != nil, nil
}
