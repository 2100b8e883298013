package hookrun

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/replication"
	"github.com/sroll-dev/sroll/internal/wake"
)

// Runner runs hooks for every rollout on a fixed number of workers, so a
// slow hook never holds up the reconcile of another rollout. Its state is
// in memory: an operator restarted while a hook ran forgets it, and the
// decider, which recorded the hook's intent in status first, asks again.
type Runner struct {
	// Rollouts runs the hooks under the manager's context (they outlive
	// the reconcile that asked for them) and wakes a rollout when one of
	// its hooks finished.
	*wake.Rollouts
	exec Exec
	// fence calls a rollout's fencing webhook; nil refuses such calls.
	fence   Fence
	clock   clock.PassiveClock
	slots   chan struct{}
	mu      sync.Mutex
	rollout map[types.NamespacedName]*rolloutHooks
	set     map[types.NamespacedName]*setHooks
	// Sets are the snapshot sets to reconcile because one of their freeze
	// or thaw hooks finished, for the set controller's watch.
	Sets *wake.Queue[*v1alpha1.RolloutSnapshot]
}

// setHooks is what the runner knows of one snapshot set's freeze and thaw
// hooks: they take their member's slot in its rollout like any hook (one
// hook per member at a time), but their results are the set's.
type setHooks struct {
	busy    map[string]bool
	results []replication.Result
}

// rolloutHooks is what the runner knows of one rollout's members.
type rolloutHooks struct {
	busy    map[string]bool
	lastRun map[string]time.Time
	results []replication.Result
}

// Fence asks a rollout's fencing webhook to fence a node: fenced is true
// on a confirmation, message is what the webhook said.
type Fence func(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, node string, members []string) (fenced bool, message string, err error)

// SetFence makes the runner call fencing webhooks with fence, on the same
// workers as the hooks: a webhook call is one more effect whose answer the
// decider reads like a fence hook's.
func (r *Runner) SetFence(fence Fence) { r.fence = fence }

// New is a runner of at most workers hooks at once.
func New(exec Exec, clock clock.PassiveClock, workers int) *Runner {
	return &Runner{
		Rollouts: wake.New(),
		exec:     exec, clock: clock, slots: make(chan struct{}, workers),
		rollout: map[types.NamespacedName]*rolloutHooks{},
		set:     map[types.NamespacedName]*setHooks{},
		Sets:    wake.NewQueue[*v1alpha1.RolloutSnapshot](),
	}
}

func (r *Runner) setHooks(key types.NamespacedName) *setHooks {
	h, ok := r.set[key]
	if !ok {
		h = &setHooks{busy: map[string]bool{}}
		r.set[key] = h
	}
	return h
}

func (r *Runner) hooks(key types.NamespacedName) *rolloutHooks {
	h, ok := r.rollout[key]
	if !ok {
		h = &rolloutHooks{busy: map[string]bool{}, lastRun: map[string]time.Time{}}
		r.rollout[key] = h
	}
	return h
}

// Observe hands over what the decider reads: the results since the last
// call (taken: a caller whose status write fails gives them back with
// Return), the members with a hook running and when each last finished.
func (r *Runner) Observe(key types.NamespacedName) (results []replication.Result, busy map[string]bool, lastRun map[string]time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hooks(key)
	results, h.results = h.results, nil
	busy, lastRun = map[string]bool{}, map[string]time.Time{}
	for k, v := range h.busy {
		busy[k] = v
	}
	for k, v := range h.lastRun {
		lastRun[k] = v
	}
	return results, busy, lastRun
}

// Return gives back results a decision could not record.
func (r *Runner) Return(key types.NamespacedName, results []replication.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hooks(key)
	h.results = append(results, h.results...)
}

// Go runs the hook in the member's container, or calls the fencing
// webhook; a slot (member or node fencing) with one running is refused
// (the decider never asks for one).
func (r *Runner) Go(rollout *v1alpha1.StatefulSetRollout, container string, run replication.Run) error {
	key := types.NamespacedName{Namespace: rollout.Namespace, Name: rollout.Name}
	woken := rollout.DeepCopy()
	return r.start(rollout, container, run, nil, func(ctx context.Context, result replication.Result) {
		h := r.hooks(key)
		h.lastRun[run.Slot()] = result.Finished
		h.results = append(h.results, result)
		r.mu.Unlock()
		r.Wake(ctx, woken)
	})
}

// GoForSet runs a freeze or thaw hook of a snapshot set in a member of
// its rollout. It waits for no other hook of the member: one running there
// refuses it, and the set's decider asks again.
func (r *Runner) GoForSet(set *v1alpha1.RolloutSnapshot, rollout *v1alpha1.StatefulSetRollout, container string, run replication.Run) error {
	key := types.NamespacedName{Namespace: set.Namespace, Name: set.Name}
	woken := set.DeepCopy()
	mark := func() { r.setHooks(key).busy[run.Member] = true }
	return r.start(rollout, container, run, mark, func(ctx context.Context, result replication.Result) {
		h := r.setHooks(key)
		delete(h.busy, run.Member)
		h.results = append(h.results, result)
		r.mu.Unlock()
		r.Sets.Wake(ctx, woken)
	})
}

// start takes run's slot in rollout (mark, under the lock, records it
// elsewhere too) and runs it; done is called with the result, under the
// lock, which it releases.
func (r *Runner) start(rollout *v1alpha1.StatefulSetRollout, container string, run replication.Run, mark func(),
	done func(context.Context, replication.Result)) error {
	key := types.NamespacedName{Namespace: rollout.Namespace, Name: rollout.Name}
	slot := run.Slot()
	ctx := r.Context()
	r.mu.Lock()
	h := r.hooks(key)
	if h.busy[slot] {
		r.mu.Unlock()
		return fmt.Errorf("a hook already runs on %s", slot)
	}
	h.busy[slot] = true
	if mark != nil {
		mark()
	}
	r.mu.Unlock()
	target := rollout.DeepCopy()
	go func() {
		result := r.run(ctx, target, container, run)
		r.mu.Lock()
		delete(r.hooks(key).busy, slot)
		done(ctx, result)
	}()
	return nil
}

// ObserveSet hands over what a set's decider reads: the results of its
// hooks since the last call (taken, like Observe's) and the members where
// one of them runs.
func (r *Runner) ObserveSet(key types.NamespacedName) (results []replication.Result, busy map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.setHooks(key)
	results, h.results = h.results, nil
	busy = map[string]bool{}
	for k, v := range h.busy {
		busy[k] = v
	}
	return results, busy
}

// ReturnSet gives back results a set's decision could not record.
func (r *Runner) ReturnSet(key types.NamespacedName, results []replication.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.setHooks(key)
	h.results = append(results, h.results...)
}

// ForgetSet drops what is kept of a set that needs no more hooks.
func (r *Runner) ForgetSet(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.set[key]; h != nil && len(h.busy) == 0 {
		delete(r.set, key)
	}
}

// run waits for a worker, then runs the hook or webhook call within its timeout.
func (r *Runner) run(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, container string, run replication.Run) replication.Result {
	result := replication.Result{Member: run.Member, Incarnation: run.Incarnation, Hook: run.Hook, Node: run.Node, Recovery: run.Recovery}
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		result.Err, result.Finished = "the operator stopped", r.clock.Now()
		return result
	}
	hookCtx, cancel := context.WithTimeout(ctx, run.Timeout)
	defer cancel()
	var out Output
	var err error
	if run.Member == "" {
		out, err = r.callFence(hookCtx, rollout, run)
	} else {
		out, err = r.exec(hookCtx, rollout.Namespace, run.Member, container, run.Command)
	}
	result.Finished = r.clock.Now()
	result.Stdout, result.Stderr, result.ExitCode = out.Stdout, out.Stderr, out.ExitCode
	switch {
	case errors.Is(hookCtx.Err(), context.DeadlineExceeded):
		result.Err = fmt.Sprintf("timed out after %s", run.Timeout)
	case err != nil:
		result.Err = err.Error()
	}
	return result
}

// callFence is a fencing webhook call as a hook's output: exit code 0 on a
// confirmation, 1 with the answer on stderr otherwise.
func (r *Runner) callFence(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, run replication.Run) (Output, error) {
	if r.fence == nil {
		return Output{}, errors.New("this operator calls no fencing webhook")
	}
	fenced, message, err := r.fence(ctx, rollout, run.Node, run.Members)
	if err != nil || !fenced {
		return Output{ExitCode: 1, Stderr: message}, err
	}
	return Output{Stdout: message}, nil
}

// Forget drops what is kept of a deleted rollout.
func (r *Runner) Forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.rollout, key)
}
