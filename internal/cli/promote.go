package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func newPromoteCommand(e *env) *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   "promote NAME",
		Short: "Finish the current step (a pause or a percent) and go to the next",
		Long: "Finish the current step, a pause or a percent, and go to the next.\n" +
			"With --full, skip every remaining step and update the rest of the pods.",
		Example: "  kubectl sroll promote kv\n  kubectl sroll promote kv --full",
		Args:    oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			action := ActionPromote
			if full {
				action = ActionPromoteFull
			}
			return e.do(cmd.Context(), args[0], actions[action])
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "Skip every remaining step, pauses included.")
	return cmd
}

// checkPromote refuses a promote the operator would ignore
// (internal/plan/actions.go): only a rollout moving forward has steps to
// finish.
func checkPromote(r *v1alpha1.StatefulSetRollout, full bool) error {
	st := &r.Status
	switch {
	case st.Phase == v1alpha1.PhaseCompleted:
		return fmt.Errorf("%s is Completed: there is nothing to promote; change the image to start a rollout", r.Name)
	case st.RollbackReason != "" || (st.Phase != v1alpha1.PhaseProgressing && st.Phase != v1alpha1.PhasePaused):
		return fmt.Errorf("promote needs a Progressing or Paused rollout; %s is %s: %s", r.Name, phase(r), remedy(r))
	case !full && int(st.CurrentStepIndex) >= len(steps(r)):
		return fmt.Errorf("%s is past its last step: there is no step left to promote; it completes once every pod is updated", r.Name)
	}
	return nil
}
