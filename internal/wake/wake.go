// Package wake links a background effector (the hook runner, the
// measurement scheduler, the Consul watcher) to the controller: its work
// runs under the manager's context, and when a piece of it ends, the
// rollout (or snapshot set) it was for is reconciled.
package wake

import (
	"context"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Rollouts is embedded by an effector: the manager runs it (Start), the
// controller watches Events.
type Rollouts struct {
	mu   sync.Mutex
	base context.Context
	*Queue[*v1alpha1.StatefulSetRollout]
}

// New is ready before Start: work begun then runs under the background
// context until the manager's replaces it.
func New() *Rollouts {
	return &Rollouts{base: context.Background(), Queue: NewQueue[*v1alpha1.StatefulSetRollout]()}
}

// Queue is the objects of one kind to reconcile, for a controller's
// watch: a rollout, or (for its freeze and thaw hooks) a snapshot set.
type Queue[T client.Object] struct {
	events chan event.TypedGenericEvent[T]
}

// NewQueue is an empty queue.
func NewQueue[T client.Object]() *Queue[T] {
	return &Queue[T]{events: make(chan event.TypedGenericEvent[T], 64)}
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

// Events are the objects to reconcile, for the controller's watch.
func (q *Queue[T]) Events() <-chan event.TypedGenericEvent[T] {
	return q.events
}

// Wake asks for obj's reconcile; false when ctx ended first.
func (q *Queue[T]) Wake(ctx context.Context, obj T) bool {
	select {
	case q.events <- event.TypedGenericEvent[T]{Object: obj}:
		return true
	case <-ctx.Done():
		return false
	}
}
