package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Action names a way to steer a rollout. The plugin's verbs and the
// dashboard's buttons carry each one out through the same function in
// actions, so both check and write it one way.
type Action string

const (
	ActionPause       Action = "pause"
	ActionResume      Action = "resume"
	ActionPromote     Action = "promote"
	ActionPromoteFull Action = "promote-full"
	ActionAbort       Action = "abort"
	ActionRetry       Action = "retry"
	// ActionUndo goes back to the previous revision; the undo verb's
	// --to-revision calls session.undo itself.
	ActionUndo Action = "undo"
)

// act carries out one action on a rollout just read and says what it did.
type act func(ctx context.Context, s *session, r *v1alpha1.StatefulSetRollout) (done, error)

// done is what an action did, in words for the user.
type done struct {
	// Note, when set, is a caveat to show before the outcome.
	Note string
	// Message says what was written; empty when the action failed.
	Message string
}

var actions = map[Action]act{
	ActionPause:       paused(ActionPause),
	ActionResume:      paused(ActionResume),
	ActionPromote:     requested(ActionPromote, v1alpha1.AnnotationPromote, "promote"),
	ActionPromoteFull: requested(ActionPromoteFull, v1alpha1.AnnotationPromoteFull, "full promote"),
	ActionAbort:       requested(ActionAbort, v1alpha1.AnnotationAbort, "abort"),
	ActionRetry:       requested(ActionRetry, v1alpha1.AnnotationRetry, "retry"),
	ActionUndo: func(ctx context.Context, s *session, r *v1alpha1.StatefulSetRollout) (done, error) {
		return s.undo(ctx, r, undoPrevious)
	},
}

// do carries out an action from the command line: it reads the rollout,
// acts, and prints the note to stderr and what was done to stdout.
func (e *env) do(ctx context.Context, name string, action act) error {
	s, r, err := e.connectTo(ctx, name)
	if err != nil {
		return err
	}
	d, err := action(ctx, s, r)
	if d.Note != "" {
		fmt.Fprintln(e.streams.ErrOut, "note: "+d.Note)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.streams.Out, d.Message)
	return nil
}

// requested asks the operator for an action by writing a new value to its
// annotation: the operator carries out each value once (see
// v1alpha1.AnnotationPromote). It refuses what the operator would ignore
// in the rollout's phase (standing.refusal), so the user hears why now
// rather than in an event.
func requested(action Action, key, what string) act {
	return func(ctx context.Context, s *session, r *v1alpha1.StatefulSetRollout) (done, error) {
		var d done
		if r.Generation > r.Status.ObservedGeneration {
			d.Note = fmt.Sprintf("the operator has not seen the latest spec of %s yet; it decides whether the request applies", r.Name)
		}
		if err := (standing{rollout: r}).refusal(action); err != nil {
			return d, err
		}
		if err := s.annotate(ctx, r, key, newRequestValue()); err != nil {
			return d, err
		}
		d.Message = fmt.Sprintf("%s %s requested", ref(r), what)
		return d, nil
	}
}

// annotate sets one annotation of the rollout.
func (s *session) annotate(ctx context.Context, r *v1alpha1.StatefulSetRollout, key, value string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if err != nil {
		return err
	}
	return s.patch(ctx, r, patch)
}

// newRequestValue is a value no earlier request used: the operator acts on
// each new value once.
func newRequestValue() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// phase names where a rollout stands in messages.
func phase(r *v1alpha1.StatefulSetRollout) string {
	if r.Status.Phase == "" {
		return "Unknown"
	}
	return string(r.Status.Phase)
}

// remedy says what works for a rollout that is not moving forward: rolling
// back, rolled back, or stopped by the progress deadline.
func remedy(r *v1alpha1.StatefulSetRollout) string {
	st := &r.Status
	switch {
	case st.RollbackReason != "" && st.Phase == v1alpha1.PhaseRollingBack:
		return fmt.Sprintf("it is rolling back to %s; use retry to roll forward again", st.StableRevision)
	case st.RollbackReason != "" && r.Spec.Paused:
		return fmt.Sprintf("it is rolling back to %s, held by spec.paused; use resume", st.StableRevision)
	case st.Phase == v1alpha1.PhaseDegraded && st.RollbackReason == "":
		return "use retry or abort"
	case st.RollbackReason != "":
		return fmt.Sprintf("it was rolled back to %s; use retry, or change the image", st.StableRevision)
	}
	return "see kubectl sroll status " + r.Name
}
