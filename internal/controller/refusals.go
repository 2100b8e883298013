package controller

import (
	"errors"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// errRefused marks a StatefulSet write the API server refused for its
// content. It is not the operator's failure: the next reconcile reports it
// in the rollout's status (the planner's Input.Refused).
var errRefused = errors.New("the API server refused the StatefulSet")

// Refused reports whether the API server refused a write for the object's
// content: invalid, forbidden (an admission plugin, a quota), or a request
// it cannot take. A user must fix these in the spec (or free the quota);
// any other error (a conflict, a timeout) passes by itself.
func Refused(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err) || apierrors.IsRequestEntityTooLargeError(err)
}

// refusals remembers, per rollout, the last StatefulSet write the API
// server refused and the rollout generation it was computed from: the
// planner's Input.Refused while the generation is the same. A new spec is
// tried afresh. Memory only: after a restart the write is tried again and
// refused again, or accepted.
type refusals struct {
	mu        sync.Mutex
	byRollout map[types.NamespacedName]refusal
}

type refusal struct {
	generation int64
	message    string
}

// of is the refusal of a rollout's generation; empty when none.
func (r *refusals) of(key types.NamespacedName, generation int64) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if got, ok := r.byRollout[key]; ok && got.generation == generation {
		return got.message
	}
	return ""
}

// refused records the API server's answer to a write of generation.
func (r *refusals) refused(key types.NamespacedName, generation int64, err error) {
	message := err.Error()
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		message = status.Status().Message
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byRollout == nil {
		r.byRollout = map[types.NamespacedName]refusal{}
	}
	r.byRollout[key] = refusal{generation: generation, message: message}
}

// forget drops a rollout's refusal: a write was accepted, or the rollout is gone.
func (r *refusals) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byRollout, key)
}
