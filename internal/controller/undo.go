package controller

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
)

// undo carries out an undo plan: it removes sroll.dev/undo and, when the
// planner resolved the request, sets spec.template, in one update, so the
// request is carried out exactly once. The update starts the next
// reconcile, which rolls the new template out like any other.
func (r *Reconciler) undo(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, p plan.Plan) error {
	value := rollout.Annotations[v1alpha1.AnnotationUndo]
	updated := rollout.DeepCopy()
	delete(updated.Annotations, v1alpha1.AnnotationUndo)
	if p.Undo.Template != nil {
		updated.Spec.Template = *p.Undo.Template
	}
	if err := r.Update(ctx, updated); err != nil {
		return staleOr(fmt.Errorf("undo: %w", err))
	}
	r.ownWrites.wrote(client.ObjectKeyFromObject(rollout), rollout.ResourceVersion)
	if p.Undo.Template == nil {
		ctrl.LoggerFrom(ctx).Info("Dropped undo request", "value", value)
	} else {
		ctrl.LoggerFrom(ctx).Info("Undid spec.template", "value", value)
	}
	r.recordEvents(updated, actionUndo, p.Events)
	return nil
}
