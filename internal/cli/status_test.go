package cli

import (
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// status -w ends with the exit code CI gates on: 0 Completed, 1 Degraded,
// 2 timeout; a paused rollout is not done.
func TestStatusWatch(t *testing.T) {
	ns, c := clusterTest(t, true)
	create(t, c, newRollout(ns, "kv"))
	if r := sroll(t, ns, "status", "kv", "-w", "--timeout", "2m"); r.code != exitOK || !strings.Contains(r.out, "Phase:      Completed\n") {
		t.Fatalf("watching a new rollout: exit %d, want 0 and a Completed screen", r.code)
	}

	mustSroll(t, ns, "set", "image", "kv", "kv=registry.example/kv:1.1")
	paused := waitFor(t, c, ns, "kv", "Paused", settled(v1alpha1.PhasePaused))
	sroll(t, ns, "status", "kv", "-w", "--timeout", "2s").wantFailure(t, exitTimeout,
		"timed out after 2s waiting for kv, which is Paused: step 2/3 (pause): paused, waiting for promote")

	// The golden tests of package render hold the layout; here the spacing
	// is squeezed, since revision names vary in length.
	screen := squeeze(mustSroll(t, ns, "status", "kv"))
	for _, want := range []string{
		"Phase: Paused\n",
		"Message: step 2/3 (pause): paused, waiting for promote\n",
		"✔ 50%\n▶ pause\n100%\n",
		"stable " + paused.Status.StableRevision + " revision 1 registry.example/kv:1.0\n",
		"update " + paused.Status.UpdateRevision + " revision 2 registry.example/kv:1.1\n",
		"partition 2: ordinals below it stay on the stable revision\n",
		"Progress: [████████████████████░░░░░░░░░░░░░░░░░░░░] 2/4 updated (2 ready), 4/4 pods ready\n",
		"In flight: none\n",
		"update ready 2 kv-2, kv-3\nstable ready 2 kv-0, kv-1\n",
		"Normal Paused step 2/3 (pause): paused, waiting for promote\n",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("status screen lacks %q:\n%s", want, screen)
		}
	}

	mustSroll(t, ns, "promote", "kv")
	if r := sroll(t, ns, "status", "kv", "-w", "--timeout", "2m"); r.code != exitOK {
		t.Fatalf("watching a promoted rollout: exit %d, want 0", r.code)
	}

	// Pods of a broken image never become Ready: the deadline degrades the rollout.
	r := waitFor(t, c, ns, "kv", "Completed", settled(v1alpha1.PhaseCompleted))
	r.Spec.Rollout.ProgressDeadlineSeconds = ptr.To(int32(3))
	r.Spec.Template.Spec.Containers[0].Image = "registry.example/kv:broken"
	if err := c.Update(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	degraded := sroll(t, ns, "status", "kv", "-w", "--timeout", "2m")
	if degraded.code != exitFailed || !strings.HasPrefix(degraded.err, "error: kv is Degraded: no progress for 3s") {
		t.Errorf("watching a broken rollout: exit %d, stderr %q; want 1 and kv is Degraded", degraded.code, degraded.err)
	}
}

// squeeze turns every run of spaces into one and drops indentation.
func squeeze(text string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		b.WriteString(strings.Join(strings.Fields(line), " ") + "\n")
	}
	return b.String()
}

// Pods that can't be scheduled are named with the scheduler's reason, in
// the status message and on the status screen, not only as "in flight".
func TestStatusSaysWhyPodsWait(t *testing.T) {
	ns, c := clusterTest(t, true)
	create(t, c, newRollout(ns, "kv"))
	r := waitFor(t, c, ns, "kv", "Completed", settled(v1alpha1.PhaseCompleted))
	r.Spec.Template.Spec.NodeSelector = map[string]string{"pool": "nowhere"}
	if err := c.Update(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, ns, "kv", "waiting for an unschedulable pod", func(r *v1alpha1.StatefulSetRollout) bool {
		return strings.Contains(r.Status.Message, "in flight; kv-2, kv-3: Unschedulable (0/3 nodes are available") &&
			strings.Contains(r.Status.Message, "node(s) didn't match Pod's node affinity/selector")
	})
	if screen := squeeze(mustSroll(t, ns, "status", "kv")); !strings.Contains(screen, "update Unschedulable 2 kv-2, kv-3\n") {
		t.Errorf("status screen does not group the unschedulable pods by reason:\n%s", screen)
	}
}
