package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

func newRestoreCommand(e *env) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "restore NAME --from SET",
		Short: "Put every member's volumes back as a snapshot set captured them",
		Long: "Put every member's volumes back as a snapshot set captured them. The operator\n" +
			"first takes a BeforeRestore set of the volumes as they are, then stops every\n" +
			"member (the replication stop hook first, when configured), scales the\n" +
			"StatefulSet to zero, replaces each claim by one provisioned from its snapshot,\n" +
			"and scales back. kubectl sroll status NAME shows each step.",
		Example: "  kubectl sroll snapshots kv\n  kubectl sroll restore kv --from kv-20261202-003015",
		Args:    oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" {
				return usagef("--from is required: the snapshot set to restore (kubectl sroll snapshots %s lists them)", args[0])
			}
			s, r, err := e.connectTo(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var set *v1alpha1.RolloutSnapshot
			var got v1alpha1.RolloutSnapshot
			switch err := s.Get(cmd.Context(), types.NamespacedName{Namespace: r.Namespace, Name: from}, &got); {
			case err == nil:
				set = &got
			case !apierrors.IsNotFound(err):
				return explain(err)
			}
			if why := snapshot.Restorable(r, set, from); why != "" {
				return fmt.Errorf("%s", why)
			}
			if err := s.annotate(cmd.Context(), r, v1alpha1.AnnotationRestore, from); err != nil {
				return err
			}
			fmt.Fprintf(e.streams.Out, "%s restore from %s requested\n", ref(r), from)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "The snapshot set (RolloutSnapshot) to restore.")
	return cmd
}
