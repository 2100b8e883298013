package failovere2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// A node whose heartbeat stops becomes NotReady after the grace period,
// and Ready again once its heartbeat restarts.
func TestStoppedHeartbeatMakesTheNodeNotReady(t *testing.T) {
	cs, err := kubernetes.NewForConfig(clustertest.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	const node = "node-1"
	ready := func() (bool, string) {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, string(c.Status) + " " + c.Reason
			}
		}
		return false, "no Ready condition"
	}
	if err := clustertest.Cluster().StopHeartbeat(context.Background(), node); err != nil {
		t.Fatal(err)
	}
	e2eutil.Eventually(t, time.Minute, node+" NotReady", func() (bool, string) {
		ok, state := ready()
		return !ok, state
	})
	if err := clustertest.Cluster().RestartHeartbeat(context.Background(), node); err != nil {
		t.Fatal(err)
	}
	e2eutil.Eventually(t, time.Minute, node+" Ready again", ready)
}
