package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func newResumeCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "resume NAME",
		Short:   "Let a paused rollout go on (spec.paused: false)",
		Example: "  kubectl sroll resume kv",
		Args:    oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.do(cmd.Context(), args[0], actions[ActionResume])
		},
	}
}

// checkResume tells spec.paused from a pause step, which only promote ends.
func checkResume(r *v1alpha1.StatefulSetRollout) error {
	switch {
	case r.Spec.Paused:
		return nil
	case r.Status.Phase == v1alpha1.PhasePaused:
		return fmt.Errorf("%s is not paused by spec.paused: it waits in %s; use promote to go on", r.Name, stepName(r))
	}
	return fmt.Errorf("%s is not paused", ref(r))
}
