package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/cli/render"
	"github.com/sroll-dev/sroll/internal/rolloutwatch"
)

// tickInterval is how often `status -w` redraws a terminal without a
// change, so that ages move; it reads from the watch, not the API server.
const tickInterval = time.Second

func newStatusCommand(e *env) *cobra.Command {
	var (
		watch       bool
		untilPaused bool
		timeout     time.Duration
		noColor     bool
	)
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show a rollout's phase, steps, revisions, pods and events",
		Long: "Show a rollout's phase, steps, revisions, pods and events.\n\n" +
			"With -w the screen is redrawn on every change until the rollout is Completed\n" +
			"(exit code 0), Degraded or Aborted (exit code 1), or --timeout passes\n" +
			"(exit code 2). A Paused rollout is not done: it waits for promote.",
		Example: "  kubectl sroll status kv\n  kubectl sroll status kv -w --timeout 30m",
		Args:    oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout < 0 {
				return usagef("--timeout must not be negative, got %s", timeout)
			}
			if timeout > 0 && !watch {
				return usagef("--timeout only applies with -w")
			}
			if untilPaused && !watch {
				return usagef("--until-paused only applies with -w")
			}
			s, err := e.connect()
			if err != nil {
				return err
			}
			opts := render.Options{Color: !noColor && colourful(e.streams.Out)}
			if watch {
				return e.watch(cmd.Context(), s, args[0], watchOptions{timeout: timeout, untilPaused: untilPaused}, opts)
			}
			_, m, err := s.readModel(cmd.Context(), args[0], time.Now())
			if err != nil {
				return err
			}
			_, err = io.WriteString(e.streams.Out, render.Status(m, opts))
			return err
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "Redraw until the rollout is Completed, Degraded or Aborted; the exit code says which.")
	cmd.Flags().BoolVar(&untilPaused, "until-paused", false, "With -w, also stop (exit code 0) when the rollout pauses, e.g. to promote it from a script.")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "With -w, give up after this long (exit code 2); 0 waits forever.")
	cmd.Flags().BoolVar(&noColor, "no-color", false, "Never colour the output.")
	return cmd
}

// watch redraws the screen until the rollout is done, on every change the
// informers see (rolloutwatch, as the dashboard has them). On a terminal it
// draws over the previous screen, also every tickInterval so that ages
// move; into a pipe or a file it writes a new screen only when the rollout
// changed, so a CI log stays readable.
func (e *env) watch(ctx context.Context, s *session, name string, w watchOptions, opts render.Options) error {
	timeout := w.timeout
	// The timeout bounds the wait, not the reads: a read cut short by it
	// would end the watch with a client error instead of exit code 2.
	var deadline <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		deadline = timer.C
	}
	// A missing rollout is told at once, with where else it exists.
	if _, err := s.rollout(ctx, name); err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	// One pending notice stands for any number of changes: a 1000-pod
	// rollout's changes are read once per redraw, not once each.
	changes := make(chan struct{}, 1)
	cached, err := rolloutwatch.Start(ctx, rolloutwatch.Options{
		Config: s.config, Scheme: scheme, Namespace: s.namespace,
		Changed: func(c rolloutwatch.Change) {
			if c.Name != name {
				return
			}
			select {
			case changes <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		return explain(err)
	}
	watched := &session{Client: cached, config: s.config, namespace: s.namespace}
	live := isTerminal(e.streams.Out)
	var tick <-chan time.Time
	if live {
		ticker := time.NewTicker(tickInterval)
		defer ticker.Stop()
		tick = ticker.C
	}
	var shown *render.Model
	for {
		r, m, err := watched.readModel(ctx, name, time.Now())
		if err != nil {
			return err
		}
		switch {
		case live:
			redraw(e.streams.Out, render.Status(m, opts))
		case shown == nil:
			fmt.Fprint(e.streams.Out, render.Status(m, opts))
			shown = &m
		case changed(*shown, m):
			fmt.Fprint(e.streams.Out, "\n"+render.Status(m, opts))
			shown = &m
		}
		if done, err := outcome(r, w.untilPaused); done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return timedOut(r, timeout)
		case <-changes:
		case <-tick:
		}
	}
}

// watchOptions says when `status -w` stops besides a terminal phase.
type watchOptions struct {
	timeout     time.Duration
	untilPaused bool
}

// outcome says whether a watched rollout is done, and if it failed. A phase
// counts only once the operator has seen the latest spec and every request
// made of it: right after `set image` or `retry` the phase still describes
// what came before.
func outcome(r *v1alpha1.StatefulSetRollout, untilPaused bool) (bool, error) {
	if r.Generation > r.Status.ObservedGeneration || requestPending(r) {
		return false, nil
	}
	switch r.Status.Phase {
	case v1alpha1.PhasePaused:
		return untilPaused, nil
	case v1alpha1.PhaseCompleted:
		return true, nil
	case v1alpha1.PhaseDegraded, v1alpha1.PhaseAborted:
		return true, &exitError{exitFailed, fmt.Errorf("%s is %s: %s", r.Name, r.Status.Phase, r.Status.Message)}
	}
	return false, nil
}

// requestPending is true while an action annotation waits for the
// operator. It records the value it acted on and removes the undo
// annotation once done.
func requestPending(r *v1alpha1.StatefulSetRollout) bool {
	for _, key := range v1alpha1.Actions {
		if value, ok := r.Annotations[key]; ok && r.Status.HandledActions[key] != value {
			return true
		}
	}
	_, undo := r.Annotations[v1alpha1.AnnotationUndo]
	return undo
}

func timedOut(r *v1alpha1.StatefulSetRollout, timeout time.Duration) error {
	phase := r.Status.Phase
	if phase == "" {
		phase = "Unknown"
	}
	return &exitError{exitTimeout, fmt.Errorf("timed out after %s waiting for %s, which is %s: %s", timeout, r.Name, phase, r.Status.Message)}
}

// changed ignores the clock: ages move every second, the rollout may not.
func changed(before, after render.Model) bool {
	before.Now, after.Now = time.Time{}, time.Time{}
	return !reflect.DeepEqual(before, after)
}

// redraw draws a screen over the previous one: home, each line clearing
// what the old line left to its right, then everything below.
func redraw(w io.Writer, screen string) {
	var b strings.Builder
	b.WriteString("\x1b[H")
	for line := range strings.Lines(screen) {
		b.WriteString(strings.TrimSuffix(line, "\n") + "\x1b[K\n")
	}
	b.WriteString("\x1b[J")
	_, _ = io.WriteString(w, b.String())
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colourful honours NO_COLOR (https://no-color.org) as well as --no-color.
func colourful(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && isTerminal(w)
}
