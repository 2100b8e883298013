package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func newUndoCommand(e *env) *cobra.Command {
	var toRevision int64
	cmd := &cobra.Command{
		Use:   "undo NAME",
		Short: "Set the template back to an earlier revision and roll it out",
		Long: "Set the template back to an earlier revision of the history (kubectl sroll\n" +
			"history lists them) and roll it out through the steps like any change.\n" +
			"Without --to-revision, the revision before the one being rolled out.",
		Example: "  kubectl sroll undo kv\n  kubectl sroll undo kv --to-revision 3",
		Args:    oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if toRevision < 0 {
				return usagef("--to-revision must be a revision number (1 or more), got %d", toRevision)
			}
			if toRevision == 0 {
				return e.do(cmd.Context(), args[0], actions[ActionUndo])
			}
			return e.do(cmd.Context(), args[0], func(ctx context.Context, s *session, r *v1alpha1.StatefulSetRollout) (done, error) {
				return s.undo(ctx, r, strconv.FormatInt(toRevision, 10))
			})
		},
	}
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "The revision to go back to; 0 means the previous one.")
	return cmd
}

// undoPrevious is the undo annotation's value for the revision before the
// one being rolled out.
const undoPrevious = "previous"

// undo resolves the request against the history as the operator will
// (standing.undoTarget), so a revision that is not there fails here, then
// leaves the rewrite of the template to the operator.
func (s *session) undo(ctx context.Context, r *v1alpha1.StatefulSetRollout, value string) (done, error) {
	w, err := s.standing(ctx, r)
	if err != nil {
		return done{}, err
	}
	target, err := w.undoTarget(value)
	if err != nil {
		return done{}, err
	}
	if err := s.annotate(ctx, r, v1alpha1.AnnotationUndo, value); err != nil {
		return done{}, err
	}
	var number int64
	for _, rev := range w.revisions {
		if rev.Name == target {
			number = rev.Revision
		}
	}
	return done{Message: fmt.Sprintf("%s undo to revision %d (%s) requested", ref(r), number, target)}, nil
}
