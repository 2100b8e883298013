package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func newRetryCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "retry NAME",
		Short:   "Start a Degraded or Aborted rollout again from its first step",
		Example: "  kubectl sroll retry kv",
		Args:    oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.do(cmd.Context(), args[0], actions[ActionRetry])
		},
	}
}

// checkRetry refuses a retry the operator would ignore: only a rollout that
// stopped or is rolling back can start again.
func checkRetry(r *v1alpha1.StatefulSetRollout) error {
	st := &r.Status
	switch {
	case st.RollbackReason != "", st.Phase == v1alpha1.PhaseDegraded, st.Phase == v1alpha1.PhaseAborted:
		return nil
	case st.Phase == v1alpha1.PhaseCompleted:
		return fmt.Errorf("%s is Completed: there is nothing to retry; change the image to start a rollout", r.Name)
	case r.Spec.Paused:
		return fmt.Errorf("retry needs a Degraded or Aborted rollout; %s is paused by spec.paused: use resume", r.Name)
	case st.Phase == v1alpha1.PhasePaused:
		return fmt.Errorf("retry needs a Degraded or Aborted rollout; %s is Paused in %s: use promote to go on", r.Name, stepName(r))
	}
	return fmt.Errorf("retry needs a Degraded or Aborted rollout; %s is %s: it is moving, use abort to stop it", r.Name, phase(r))
}
