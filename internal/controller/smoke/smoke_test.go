// Package smoke runs the controller in-process against the local cluster:
// a real API server and the real StatefulSet controller, pods simulated by
// kwok. The thorough end-to-end suite lives elsewhere; these tests prove the
// wiring and what only a real StatefulSet controller can show: revisions
// decoded by sroll are recognised and reused.
package smoke

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

func TestMain(m *testing.M) {
	os.Exit(clustertest.Run(m))
}

func TestRolloutToCompletionThenQuiet(t *testing.T) {
	ctx := t.Context()
	ns := clustertest.Namespace(t)
	c, reconciler, writes := startOperator(t, ns)

	rollout := newRollout(ns, "kv", 10, "kv:v1")
	if err := c.Create(ctx, rollout); err != nil {
		t.Fatal(err)
	}
	waitCompleted(t, c, rollout)
	t.Logf("Creating 10 pods took %s", summarise(writes.Take()))

	setImage(t, c, rollout, "kv:v2")
	waitCompleted(t, c, rollout)
	t.Logf("Rolling out 10 pods took %s", summarise(writes.Take()))

	for range 3 {
		if _, err := reconciler.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(rollout)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := writes.Take(); len(got) != 0 {
		t.Errorf("reconciles with nothing to do wrote %v", got)
	}
}

// summarise counts writes by verb and kind: "12 writes (3 delete Pod, ...)".
func summarise(writes []string) string {
	counts := map[string]int{}
	for _, w := range writes {
		verb, kind, _ := strings.Cut(w, " ")
		kind, _, _ = strings.Cut(kind, " ")
		counts[verb+" "+kind]++
	}
	var parts []string
	for what, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, what))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d writes (%s)", len(writes), strings.Join(parts, ", "))
}
