package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sroll-dev/sroll/internal/history"
)

func newHistoryCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "history NAME",
		Short:   "List the revisions of a rollout's StatefulSet, oldest first",
		Example: "  kubectl sroll history kv",
		Args:    oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, r, err := e.connectTo(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			sts, err := s.statefulSet(cmd.Context(), r)
			if err != nil {
				return err
			}
			if sts == nil {
				return fmt.Errorf("%s has no StatefulSet yet, so there is no history", r.Name)
			}
			revisions, err := history.List(cmd.Context(), s, sts)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(e.streams.Out, 6, 4, 3, ' ', 0)
			fmt.Fprintln(w, "REVISION\tNAME\tIMAGES\tCURRENT")
			for i := range revisions {
				rev := &revisions[i]
				var current []string
				if rev.Name == r.Status.StableRevision {
					current = append(current, "stable")
				}
				if rev.Name == r.Status.UpdateRevision {
					current = append(current, "update")
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", rev.Revision, rev.Name,
					strings.Join(history.Images(revisions, rev.Name), ","), strings.Join(current, ", "))
			}
			return w.Flush()
		},
	}
}
