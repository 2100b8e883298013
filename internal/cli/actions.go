package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// request asks the operator for an action by writing a new value to its
// annotation: the operator carries out each value once (see
// v1alpha1.AnnotationPromote). check refuses what the operator would ignore
// in the rollout's phase, so the user hears why now rather than in an event.
func (e *env) request(ctx context.Context, name, key, what string, check func(*v1alpha1.StatefulSetRollout) error) error {
	s, r, err := e.connectTo(ctx, name)
	if err != nil {
		return err
	}
	if r.Generation > r.Status.ObservedGeneration {
		// The phase describes the spec before the latest change; the
		// operator will decide on the new one.
		fmt.Fprintf(e.streams.ErrOut, "note: the operator has not seen the latest spec of %s yet; it decides whether the request applies\n", r.Name)
	} else if err := check(r); err != nil {
		return err
	}
	if err := s.annotate(ctx, r, key, newRequestValue()); err != nil {
		return err
	}
	fmt.Fprintf(e.streams.Out, "%s %s requested\n", ref(r), what)
	return nil
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
