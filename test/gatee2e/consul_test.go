package gatee2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/consul/consultest"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// drainSeconds is the Consul drain of the test: long enough to tell from
// no drain, short enough for a lean test.
const drainSeconds = 2

// A rollout with Consul: every replaced pod's instance was put in
// maintenance at least drainSeconds before the pod was deleted, and taken
// out once the pod was replaced; an updated pod whose Consul check is
// critical holds the rollout, using up the budget, until it passes.
func TestConsulDrainsAndRequiresHealthy(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns, "--allowed-hosts=127.0.0.1", "--consul-interval=500ms")
	agent := consultest.NewServer()
	t.Cleanup(agent.Close)
	r := e2eutil.NewRollout(ns, "kv", 3, intstr.FromInt32(1))
	r.Spec.Rollout.Consul = &v1alpha1.Consul{Address: agent.URL(), Service: "kv", DrainSeconds: drainSeconds, RequireHealthy: true}
	for i := range 3 {
		// The registrations outlive the pods, as an agent's do.
		agent.Register("kv", fmt.Sprintf("kv-%d", i), "")
	}
	create(t, r)
	uids := podUIDs(t, c, r)

	// The first pod replaced (the highest ordinal) comes back with its
	// Consul check critical.
	agent.SetStatus("kv-2", "critical")
	w := e2eutil.WatchPods(t, clustertest.RestConfig(), ns, r.Name, 3)
	e2eutil.SetImage(t, c, r, "v2")
	held := e2eutil.WaitRollout(t, c, r, time.Minute, "kv-2 updated and Ready, critical in Consul", func(got *v1alpha1.StatefulSetRollout) bool {
		// Ready, yet not available: the budget is used up.
		return got.Status.UpdatedReplicas == 1 && got.Status.ReadyReplicas == 3 &&
			strings.Contains(got.Status.Message, "0/3 pods updated and available, 1 in flight")
	})
	for _, change := range agent.Changes() {
		if change.Instance != "kv-2" {
			t.Fatalf("%s drained while the updated kv-2 was critical in Consul (budget 1): %+v; rollout %s", change.Instance, change, e2eutil.Describe(held))
		}
	}
	agent.SetStatus("kv-2", "passing")
	e2eutil.WaitCompleted(t, c, r, 2*time.Minute)

	changes := agent.Changes()
	for _, d := range w.Seen().Deletions {
		enabled, ok := lastEnabled(changes, d.Pod, d.At)
		switch {
		case !ok:
			t.Errorf("pod %s deleted at %s without being drained in Consul; changes %+v", d.Pod, d.At.Format(time.StampMilli), changes)
		case d.At.Sub(enabled.At) < drainSeconds*time.Second:
			t.Errorf("pod %s deleted %s after its instance was put in maintenance; want at least %ds", d.Pod, d.At.Sub(enabled.At), drainSeconds)
		case !strings.Contains(enabled.Reason, string(uids[d.Pod])):
			t.Errorf("pod %s drained with reason %q, which does not name its UID %s", d.Pod, enabled.Reason, uids[d.Pod])
		default:
			t.Logf("pod %s deleted %s after its instance was put in maintenance", d.Pod, d.At.Sub(enabled.At).Round(time.Millisecond))
		}
	}
	if n := len(w.Seen().Deletions); n != 3 {
		t.Errorf("%d pods deleted; want 3", n)
	}
	e2eutil.Eventually(t, 30*time.Second, "every instance out of maintenance", func() (bool, string) {
		var in []string
		for i := range 3 {
			if id := fmt.Sprintf("kv-%d", i); agent.InMaintenance(id) {
				in = append(in, id)
			}
		}
		return len(in) == 0, "in maintenance: " + strings.Join(in, ", ")
	})
}

// lastEnabled is the last maintenance enabled on a pod's instance before at.
func lastEnabled(changes []consultest.Change, pod string, at time.Time) (consultest.Change, bool) {
	var last consultest.Change
	found := false
	for _, ch := range changes {
		if ch.Instance == pod && ch.Enabled && ch.At.Before(at) {
			last, found = ch, true
		}
	}
	return last, found
}

// podUIDs are the UIDs of the rollout's pods, by name.
func podUIDs(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout) map[string]string {
	t.Helper()
	var pods corev1.PodList
	if err := c.List(t.Context(), &pods, client.InNamespace(r.Namespace), client.MatchingLabels{"app": r.Name}); err != nil {
		t.Fatal(err)
	}
	uids := map[string]string{}
	for _, pod := range pods.Items {
		uids[pod.Name] = string(pod.UID)
	}
	return uids
}
