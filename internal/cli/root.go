// Package cli is the kubectl sroll plugin: one file per verb, the status
// screen in render. Connection flags come from k8s.io/cli-runtime, so
// --kubeconfig, --context and -n behave as they do in kubectl.
package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Exit codes, so CI can gate on `kubectl sroll status NAME -w`.
const (
	exitOK      = 0
	exitFailed  = 1
	exitTimeout = 2
	// exitInterrupted is the shell's code for a command ended by SIGINT.
	exitInterrupted = 130
)

// exitError ends the command with a code other than exitFailed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError is a mistake in the command line; the help hint follows it.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// Run runs the plugin with args (without the program name), prints any
// error kubectl-style and returns the exit code.
func Run(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	root := NewCommand(streams)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil {
		// Ctrl-C, most likely during status -w: not a failure to explain.
		fmt.Fprintln(streams.ErrOut, "interrupted")
		return exitInterrupted
	}
	fmt.Fprintln(streams.ErrOut, "error:", err)
	if usage := (*usageError)(nil); errors.As(err, &usage) {
		fmt.Fprintf(streams.ErrOut, "See '%s --help' for usage.\n", cmd.CommandPath())
	}
	if exit := (*exitError)(nil); errors.As(err, &exit) {
		return exit.code
	}
	return exitFailed
}

// NewCommand builds the command tree.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	e := &env{flags: genericclioptions.NewConfigFlags(true), streams: streams}
	root := &cobra.Command{
		Use:   "kubectl-sroll",
		Short: "Watch and steer StatefulSetRollouts",
		Long: "kubectl sroll shows StatefulSetRollouts and asks the sroll operator to\n" +
			"pause, resume, promote, abort, retry or undo them, and takes snapshot sets\n" +
			"of their volumes.",
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl sroll"},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// kubectl completes plugins through kubectl_complete-sroll, which calls
	// the hidden __complete command; a completion command would be noise.
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	e.flags.AddFlags(root.PersistentFlags())
	root.AddCommand(
		newListCommand(e),
		newStatusCommand(e),
		newPauseCommand(e),
		newResumeCommand(e),
		newPromoteCommand(e),
		newAbortCommand(e),
		newRetryCommand(e),
		newUndoCommand(e),
		newHistoryCommand(e),
		newSetCommand(e),
		newDashboardCommand(e),
		newSnapshotCommand(e),
		newSnapshotsCommand(e),
		newRestoreCommand(e),
	)
	return root
}

// oneName is the argument check of the verbs that act on one rollout.
func oneName(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usagef("expected one StatefulSetRollout name, got %d arguments", len(args))
	}
	return nil
}
