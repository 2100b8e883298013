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
			return e.do(cmd.Context(), args[0], actions[ActionPause])
		},
	}
}

func checkPause(r *v1alpha1.StatefulSetRollout) error {
	if r.Spec.Paused {
		return fmt.Errorf("%s is already paused", ref(r))
	}
	return nil
}

// paused writes spec.paused, which the operator obeys on its own: unlike
// the action annotations it is a state, not a request.
// action is ActionPause or ActionResume.
func paused(action Action) act {
	value := action == ActionPause
	return func(ctx context.Context, s *session, r *v1alpha1.StatefulSetRollout) (done, error) {
		if err := (standing{rollout: r}).refusal(action); err != nil {
			return done{}, err
		}
		if err := s.patch(ctx, r, fmt.Appendf(nil, `{"spec":{"paused":%t}}`, value)); err != nil {
			return done{}, err
		}
		what := "paused"
		if !value {
			what = "resumed"
		}
		return done{Message: ref(r) + " " + what}, nil
	}
}
