package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func newAbortCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "abort NAME",
		Short:   "Roll back to the stable revision and stay there",
		Example: "  kubectl sroll abort kv",
		Args:    oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.do(cmd.Context(), args[0], actions[ActionAbort])
		},
	}
}

// checkAbort refuses an abort the operator would ignore: there must be a
// rollout in flight and a stable revision to go back to.
func checkAbort(r *v1alpha1.StatefulSetRollout) error {
	st := &r.Status
	switch {
	case st.Phase == v1alpha1.PhaseCompleted:
		return fmt.Errorf("%s is Completed: there is nothing to abort; use undo to go back to an older revision", r.Name)
	case st.RollbackReason != "":
		return fmt.Errorf("abort needs a rollout moving forward; %s is %s: %s", r.Name, phase(r), remedy(r))
	case st.StableRevision == "":
		return fmt.Errorf("%s has no stable revision to go back to: no rollout of it has completed yet", r.Name)
	}
	return nil
}
