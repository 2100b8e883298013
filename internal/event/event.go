// Package event holds the one shape in which every pure decider (the
// rollout planner, the replication decider) asks for a Kubernetes Event: the
// controller records them all the same way, after the status write that
// they describe succeeded.
package event

// Event is a Kubernetes Event to record on the rollout.
type Event struct {
	Type    string // corev1.EventTypeNormal or corev1.EventTypeWarning
	Reason  string
	Message string
}
