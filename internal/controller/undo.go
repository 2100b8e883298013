package controller

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/history"
	"github.com/sroll-dev/sroll/internal/plan"
)

// undo carries out sroll.dev/undo: it sets spec.template to the template of
// the requested revision and removes the annotation in one update, so the
// request is carried out exactly once. A request that names no revision of
// the history is dropped with a Warning event. The new template then rolls
// out like any other.
func (r *Reconciler) undo(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, obs observed) error {
	log := ctrl.LoggerFrom(ctx)
	value := rollout.Annotations[v1alpha1.AnnotationUndo]
	revision, template, resolveErr := undoTemplate(obs, value)

	updated := rollout.DeepCopy()
	delete(updated.Annotations, v1alpha1.AnnotationUndo)
	if resolveErr == nil {
		updated.Spec.Template = *template
	}
	if err := r.Update(ctx, updated); err != nil {
		return staleOr(fmt.Errorf("undo: %w", err))
	}
	r.ownWrites.wrote(client.ObjectKeyFromObject(rollout), rollout.ResourceVersion)
	if resolveErr != nil {
		log.Info("Dropped undo request", "value", value, "reason", resolveErr.Error())
		r.warn(updated, ReasonUndoFailed, actionUndo, "Undo %q dropped: %v", value, resolveErr)
		return nil
	}
	log.Info("Undid spec.template", "value", value, "revision", revision)
	r.Recorder.Eventf(updated, nil, corev1.EventTypeNormal, ReasonUndone, actionUndo,
		"Set spec.template to the template of revision %s (undo %q)", revision, value)
	return nil
}

// undoTemplate resolves an undo request to a revision of the history and
// returns its template as the user's spec.template: without the label sroll
// adds to the StatefulSet's copy.
func undoTemplate(obs observed, value string) (string, *corev1.PodTemplateSpec, error) {
	if obs.sts == nil {
		return "", nil, errors.New("the StatefulSet does not exist yet, so there is no history")
	}
	name, err := plan.UndoTarget(history.ForPlan(obs.revisions), obs.sts.Status.UpdateRevision, value)
	if err != nil {
		return "", nil, err
	}
	template, err := history.Template(history.Find(obs.revisions, name))
	if err != nil {
		return "", nil, err
	}
	delete(template.Labels, v1alpha1.LabelRollout)
	return name, template, nil
}
