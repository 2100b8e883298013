// Package e2e runs sroll against the local control plane: the real
// kube-apiserver and StatefulSet controller, pods simulated by kwok, and the
// operator as a separate process, as users run it.
package e2e

import (
	"os"
	"testing"

	"github.com/sroll-dev/sroll/internal/localcluster"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// The rollouts here run with the StatefulSet controller's
// MaxUnavailableStatefulSet path on, as the benchmarks do, so that they move
// with the planner's partition lookahead (plan kcmFollows) and the budget,
// leak and restart tests hold it to its guarantees. The other end-to-end
// packages keep the gate off, Kubernetes 1.36's default, where the partition
// moves with every batch.
func TestMain(m *testing.M) {
	os.Exit(clustertest.RunWith(m, localcluster.Options{FeatureGates: map[string]bool{"MaxUnavailableStatefulSet": true}}))
}
