package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

func newSnapshotCommand(e *env) *cobra.Command {
	var (
		wait    bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "snapshot NAME",
		Short: "Take a snapshot set of a rollout's volumes now",
		Long: "Take a snapshot set of a rollout's volumes now: a RolloutSnapshot (reason\n" +
			"OnDemand) with one VolumeSnapshot of each claim of every member, or one\n" +
			"VolumeGroupSnapshot of them all (spec.snapshots.group). It is kept\n" +
			"until deleted (kubectl delete rsnap NAME). With --wait, wait until it is\n" +
			"Ready (exit code 0), Failed (exit code 1) or --timeout passes (exit code 2).",
		Example: "  kubectl sroll snapshot kv\n  kubectl sroll snapshot kv --wait --timeout 10m",
		Args:    oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout < 0 {
				return usagef("--timeout must not be negative, got %s", timeout)
			}
			if timeout > 0 && !wait {
				return usagef("--timeout only applies with --wait")
			}
			s, r, err := e.connectTo(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if len(r.Spec.VolumeClaimTemplates) == 0 {
				return fmt.Errorf("%s has no volumeClaimTemplates: there is nothing to snapshot", r.Name)
			}
			set, err := s.takeSet(cmd.Context(), r)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.streams.Out, "rolloutsnapshot.sroll.dev/%s created\n", set.Name)
			if !wait {
				return nil
			}
			return e.waitSet(cmd.Context(), s, set, timeout)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "Wait until the set is Ready or Failed; the exit code says which.")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "With --wait, give up after this long (exit code 2); 0 waits forever.")
	return cmd
}

// takeSet creates an on-demand set of the rollout, named after now.
func (s *session) takeSet(ctx context.Context, r *v1alpha1.StatefulSetRollout) (*v1alpha1.RolloutSnapshot, error) {
	existing, err := s.sets(ctx, r.Name)
	if err != nil {
		return nil, err
	}
	set := snapshot.NewSet(r, snapshot.NewName(r.Name, time.Now(), existing), v1alpha1.SnapshotOnDemand)
	if err := s.Create(ctx, set); err != nil {
		return nil, explain(err)
	}
	return set, nil
}

// sets lists the rollout's snapshot sets, newest first.
func (s *session) sets(ctx context.Context, rollout string) ([]v1alpha1.RolloutSnapshot, error) {
	var list v1alpha1.RolloutSnapshotList
	if err := s.List(ctx, &list, client.InNamespace(s.namespace), client.MatchingLabels{v1alpha1.LabelRollout: rollout}); err != nil {
		return nil, explain(err)
	}
	slices.SortFunc(list.Items, func(a, b v1alpha1.RolloutSnapshot) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
	return list.Items, nil
}

// pollInterval is how often waitSet reads the set again.
const pollInterval = time.Second

// waitSet polls the set until it is Ready or Failed, or timeout passes.
func (e *env) waitSet(ctx context.Context, s *session, set *v1alpha1.RolloutSnapshot, timeout time.Duration) error {
	var deadline <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		deadline = timer.C
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		var got v1alpha1.RolloutSnapshot
		if err := s.Get(ctx, types.NamespacedName{Namespace: set.Namespace, Name: set.Name}, &got); err != nil {
			return explain(err)
		}
		switch got.Status.Phase {
		case v1alpha1.SnapshotReady:
			fmt.Fprintf(e.streams.Out, "rolloutsnapshot.sroll.dev/%s Ready: %s\n", got.Name, got.Status.Message)
			return nil
		case v1alpha1.SnapshotFailed:
			return fmt.Errorf("rolloutsnapshot.sroll.dev/%s Failed: %s", got.Name, got.Status.Message)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return &exitError{code: exitTimeout, err: fmt.Errorf("rolloutsnapshot.sroll.dev/%s not Ready after %s: %s", got.Name, timeout, got.Status.Message)}
		case <-tick.C:
		}
	}
}

func newSnapshotsCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "snapshots NAME",
		Short:   "List a rollout's snapshot sets, newest first",
		Example: "  kubectl sroll snapshots kv",
		Args:    oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, r, err := e.connectTo(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			sets, err := s.sets(cmd.Context(), r.Name)
			if err != nil {
				return err
			}
			if len(sets) == 0 {
				fmt.Fprintf(e.streams.ErrOut, "No snapshot sets of %s.\n", r.Name)
				return nil
			}
			return printSets(e.streams.Out, sets, time.Now())
		},
	}
}

// printSets writes one row per set: what it captured and whether it is
// ready to restore from.
func printSets(out io.Writer, sets []v1alpha1.RolloutSnapshot, now time.Time) error {
	w := tabwriter.NewWriter(out, 6, 4, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tREASON\tPHASE\tREVISION\tIMAGES\tREADY\tGROUP\tFREEZE\tAGE")
	for _, set := range sets {
		st := set.Status
		phase := string(st.Phase)
		if phase == "" {
			phase = "Unknown"
		}
		// GROUP names the set's VolumeGroupSnapshot, as kubectl get rsnap does.
		var group string
		if st.Group != nil {
			group = st.Group.VolumeGroupSnapshot
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", set.Name, set.Spec.Reason, phase, orNone(st.Revision),
			orNone(strings.Join(st.Images, ",")), st.ReadyVolumes, len(st.Volumes), orNone(group), orNone(freezeSummary(&set)),
			duration.HumanDuration(now.Sub(set.CreationTimestamp.Time)))
	}
	return w.Flush()
}

// freezeSummary is a set's freeze as a phrase: "frozen 1.2s" once every
// member is thawed, else how far the freeze or the thaw got; empty when
// the set froze nothing.
func freezeSummary(set *v1alpha1.RolloutSnapshot) string {
	f := set.Status.Freeze
	if f == nil {
		return ""
	}
	if frozen, ok := snapshot.FrozenFor(set); ok {
		return "frozen " + frozen.Round(10*time.Millisecond).String()
	}
	var frozen, thawed int
	for _, m := range f.Members {
		if m.FrozenAt != nil {
			frozen++
		}
		if m.ThawedAt != nil {
			thawed++
		}
	}
	if f.ThawStartedAt == nil {
		return fmt.Sprintf("freezing %d/%d", frozen, len(f.Members))
	}
	return fmt.Sprintf("thawing %d/%d", thawed, len(f.Members))
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
