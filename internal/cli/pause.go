package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func newPauseCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "pause NAME",
		Short: "Hold the rollout where it is (spec.paused: true)",
		Long: "Hold the rollout where it is: no partition change, no pod deleted, and a\n" +
			"new template does not reach the StatefulSet until resume.",
		Example: "  kubectl sroll pause kv",
		Args:    oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.setPaused(cmd.Context(), args[0], true, checkPause)
		},
	}
}

func checkPause(r *v1alpha1.StatefulSetRollout) error {
	if r.Spec.Paused {
		return fmt.Errorf("%s is already paused", ref(r))
	}
	return nil
}

// setPaused writes spec.paused, which the operator obeys on its own: unlike
// the action annotations it is a state, not a request.
func (e *env) setPaused(ctx context.Context, name string, paused bool, check func(*v1alpha1.StatefulSetRollout) error) error {
	s, r, err := e.connectTo(ctx, name)
	if err != nil {
		return err
	}
	if err := check(r); err != nil {
		return err
	}
	if err := s.patch(ctx, r, fmt.Appendf(nil, `{"spec":{"paused":%t}}`, paused)); err != nil {
		return err
	}
	done := "paused"
	if !paused {
		done = "resumed"
	}
	fmt.Fprintf(e.streams.Out, "%s %s\n", ref(r), done)
	return nil
}
