package cli

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/cli/render"
	"github.com/sroll-dev/sroll/internal/history"
)

// steerActions are the actions in the order the plugin's help and the
// dashboard's toolbar list them.
var steerActions = []Action{ActionPause, ActionResume, ActionPromote, ActionPromoteFull, ActionAbort, ActionRetry, ActionUndo}

// standing is what decides whether an action applies to a rollout now: the
// rollout as last read and, for undo, its StatefulSet and history (nil
// StatefulSet: the operator has not created it yet).
type standing struct {
	rollout     *v1alpha1.StatefulSetRollout
	statefulSet *appsv1.StatefulSet
	revisions   []appsv1.ControllerRevision
}

// refusal says why action does not apply now, nil when it does. It is the
// one rule: the verbs refuse by it before writing (the dashboard answers
// 409 with it when a page acted on an older view), and the dashboard's
// buttons are disabled by it, with its words as the reason.
//
// An annotation request made before the operator has seen the latest spec
// is not refused: the phase describes the previous spec, and the operator
// decides on the new one (requested notes it).
func (w standing) refusal(action Action) error {
	r := w.rollout
	switch action {
	case ActionPause:
		return checkPause(r)
	case ActionResume:
		return checkResume(r)
	case ActionUndo:
		_, err := w.undoTarget(undoPrevious)
		return err
	}
	if r.Generation > r.Status.ObservedGeneration {
		return nil
	}
	switch action {
	case ActionPromote:
		return checkPromote(r, false)
	case ActionPromoteFull:
		return checkPromote(r, true)
	case ActionAbort:
		return checkAbort(r)
	case ActionRetry:
		return checkRetry(r)
	}
	return fmt.Errorf("unknown action %q", action)
}

// undoTarget is the revision an undo to value ("previous" or a revision
// number) goes back to, resolved as the operator will (history.UndoTarget),
// or why there is none.
func (w standing) undoTarget(value string) (string, error) {
	r := w.rollout
	if w.statefulSet == nil {
		return "", fmt.Errorf("%s has no StatefulSet yet, so there is no history to go back to", r.Name)
	}
	update := w.statefulSet.Status.UpdateRevision
	target, err := history.UndoTarget(w.revisions, update, value)
	if err != nil {
		return "", fmt.Errorf("cannot undo %s: %w", r.Name, err)
	}
	if target == update {
		return "", fmt.Errorf("%s already rolls out revision %s (%s): there is nothing to undo", r.Name, value, target)
	}
	return target, nil
}

// applicable is, for each action, whether it applies now and if not why:
// what the dashboard enables its buttons by.
func (w standing) applicable() []render.ActionState {
	out := make([]render.ActionState, 0, len(steerActions))
	for _, a := range steerActions {
		state := render.ActionState{Action: string(a)}
		if err := w.refusal(a); err != nil {
			state.Refusal = err.Error()
		}
		out = append(out, state)
	}
	return out
}

// standing reads what refusal needs about r beyond r itself.
func (s *session) standing(ctx context.Context, r *v1alpha1.StatefulSetRollout) (standing, error) {
	w := standing{rollout: r}
	sts, err := s.statefulSet(ctx, r)
	if err != nil || sts == nil {
		return w, err
	}
	w.statefulSet = sts
	w.revisions, err = history.List(ctx, s, sts)
	return w, err
}
