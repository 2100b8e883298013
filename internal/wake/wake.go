// Package wake links a background effector (the hook runner, the
// measurement scheduler, the Consul watcher) to the controller: its work
// runs under the manager's context, and when a piece of it ends, the
// rollout it was for is reconciled.
package wake

import (
	"context"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Rollouts is embedded by an effector: the manager runs it (Start), the
// controller watches Events.
type Rollouts struct {
	mu     sync.Mutex
	base   context.Context
	events chan event.TypedGenericEvent[*v1alpha1.StatefulSetRollout]
}

// New is ready before Start: work begun then runs under the background
// context until the manager's replaces it.
func New() *Rollouts {
	return &Rollouts{base: context.Background(), events: make(chan event.TypedGenericEvent[*v1alpha1.StatefulSetRollout], 64)}
}

// Start keeps the manager's context for the work begun from then on, so
// that it stops when the manager does.
func (w *Rollouts) Start(ctx context.Context) error {
	w.mu.Lock()
	w.base = ctx
	w.mu.Unlock()
	<-ctx.Done()
	return nil
}

// Context is what new work runs under.
func (w *Rollouts) Context() context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.base
}

// Events are the rollouts to reconcile, for the controller's watch.
func (w *Rollouts) Events() <-chan event.TypedGenericEvent[*v1alpha1.StatefulSetRollout] {
	return w.events
}

// Wake asks for rollout's reconcile; false when ctx ended first.
func (w *Rollouts) Wake(ctx context.Context, rollout *v1alpha1.StatefulSetRollout) bool {
	select {
	case w.events <- event.TypedGenericEvent[*v1alpha1.StatefulSetRollout]{Object: rollout}:
		return true
	case <-ctx.Done():
		return false
	}
}
