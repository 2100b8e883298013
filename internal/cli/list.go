package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/cli/render"
	"github.com/sroll-dev/sroll/internal/history"
)

func newListCommand(e *env) *cobra.Command {
	var allNamespaces bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the StatefulSetRollouts of a namespace",
		Example: "  kubectl sroll list\n  kubectl sroll list -A",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := e.connect()
			if err != nil {
				return err
			}
			var opts []client.ListOption
			if !allNamespaces {
				opts = append(opts, client.InNamespace(s.namespace))
			}
			var list v1alpha1.StatefulSetRolloutList
			if err := s.List(cmd.Context(), &list, opts...); err != nil {
				return explain(err)
			}
			if len(list.Items) == 0 {
				if allNamespaces {
					fmt.Fprintln(e.streams.ErrOut, "No resources found")
				} else {
					fmt.Fprintf(e.streams.ErrOut, "No resources found in %s namespace.\n", s.namespace)
				}
				return nil
			}
			return printList(e.streams.Out, list.Items, allNamespaces, time.Now())
		},
	}
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "List the rollouts of every namespace.")
	return cmd
}

// noArgs is the argument check of the commands that take none.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.Name(), args)
	}
	return nil
}

// printList writes the table kubectl get would, with the rollout's own columns.
func printList(out io.Writer, rollouts []v1alpha1.StatefulSetRollout, withNamespace bool, now time.Time) error {
	w := tabwriter.NewWriter(out, 6, 4, 3, ' ', 0)
	header := "NAME\tPHASE\tSTEP\tUPDATED/READY/DESIRED\tIMAGES\tAGE"
	if withNamespace {
		header = "NAMESPACE\t" + header
	}
	fmt.Fprintln(w, header)
	for i := range rollouts {
		r := listRow(&rollouts[i])
		row := fmt.Sprintf("%s\t%s\t%s\t%d/%d/%d\t%s\t%s", r.Name, r.Phase, r.Step,
			r.Updated, r.Ready, r.Desired, strings.Join(r.Images, ","),
			duration.HumanDuration(now.Sub(r.Created)))
		if withNamespace {
			row = r.Namespace + "\t" + row
		}
		fmt.Fprintln(w, row)
	}
	return w.Flush()
}

// listRow is what a list shows of a rollout.
func listRow(r *v1alpha1.StatefulSetRollout) render.Row {
	return render.Row{
		Namespace: r.Namespace,
		Name:      r.Name,
		Phase:     phase(r),
		Step:      stepCount(r),
		Updated:   r.Status.UpdatedReplicas,
		Ready:     r.Status.ReadyReplicas,
		Desired:   r.Spec.ReplicasOrDefault(),
		Images:    history.ContainerImages(&r.Spec.Template.Spec),
		Created:   r.CreationTimestamp.Time,
	}
}
