package e2eutil

import (
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// WaitReplication polls the rollout until its replication status satisfies
// done and returns that status, or fails the test with what.
func WaitReplication(t testing.TB, c client.Client, r *v1alpha1.StatefulSetRollout, timeout time.Duration, what string, done func(*v1alpha1.ReplicationStatus) bool) *v1alpha1.ReplicationStatus {
	t.Helper()
	got := WaitRollout(t, c, r, timeout, what, func(got *v1alpha1.StatefulSetRollout) bool {
		return got.Status.Replication != nil && done(got.Status.Replication)
	})
	return got.Status.Replication
}

// Healthy reports whether st says every member runs in its role and passes
// its status hook.
func Healthy(st *v1alpha1.ReplicationStatus) bool { return st.Phase == v1alpha1.ReplicationHealthy }

// NewPods reports whether every member of st runs in another pod than in before.
func NewPods(st, before *v1alpha1.ReplicationStatus) bool {
	old := map[string]bool{}
	for _, m := range before.Members {
		old[m.Incarnation] = true
	}
	for _, m := range st.Members {
		if m.Incarnation == "" || old[m.Incarnation] {
			return false
		}
	}
	return len(st.Members) > 0
}

// Primary is the one member st says is primary; "" when not exactly one.
func Primary(st *v1alpha1.ReplicationStatus) string {
	var primaries []string
	for _, m := range st.Members {
		if m.Role == v1alpha1.RolePrimary {
			primaries = append(primaries, m.Name)
		}
	}
	if len(primaries) != 1 {
		return ""
	}
	return primaries[0]
}
