package notify_test

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/notify"
)

// Two snapshot sets of a rollout ending within one step, one Ready and one
// Failed, are two replies in the rollout's one Slack thread and two signed
// webhook events carrying their set, with different idempotency keys. The
// controller reports a set's end with the rollout's status unchanged, as
// here.
func TestSnapshotSetEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.dispatcher()
	start(t, d)
	r := newRollout(t, d, e.targets())
	r.begin()

	for _, set := range []*v1alpha1.RolloutSnapshot{
		snapshotSet("kv-scheduled-1", v1alpha1.SnapshotScheduled, v1alpha1.SnapshotReady, "3 volume snapshots of 3 members ready"),
		snapshotSet("kv-mine", v1alpha1.SnapshotOnDemand, v1alpha1.SnapshotFailed, "VolumeSnapshot kv-mine-0: out of snapshot space"),
	} {
		event, ended := notify.SnapshotEvent(set)
		if !ended {
			t.Fatalf("set %s in phase %s has not ended", set.Name, set.Status.Phase)
		}
		s := notify.NewReport(r.obj, r.obj.Status, r.now)
		s.Events = []notify.Event{event}
		d.Notify(s)
	}
	if _, ended := notify.SnapshotEvent(snapshotSet("kv-pending", v1alpha1.SnapshotOnDemand, v1alpha1.SnapshotPending, "")); ended {
		t.Error("a Pending set ended")
	}

	eventually(t, "both sets delivered", func() bool { return len(e.hook.Deliveries()) == 3 })
	deliveries := e.hook.Deliveries()
	ready, failed := deliveries[1], deliveries[2]
	if ready.Payload.Event != v1alpha1.EventSnapshotReady || failed.Payload.Event != v1alpha1.EventSnapshotFailed {
		t.Fatalf("events %v, want Started, SnapshotReady, SnapshotFailed", e.events())
	}
	if got := ready.Payload.Snapshot; got == nil || *got != (notify.PayloadSnapshot{Name: "kv-scheduled-1", Reason: v1alpha1.SnapshotScheduled, Revision: "kv-r1", Volumes: 3}) {
		t.Errorf("SnapshotReady carries %+v", got)
	}
	if got := failed.Payload; got.Snapshot == nil || got.Snapshot.Name != "kv-mine" || !strings.Contains(got.Reason, "out of snapshot space") {
		t.Errorf("SnapshotFailed carries %+v, reason %q", got.Snapshot, got.Reason)
	}
	if deliveries[0].Payload.Snapshot != nil {
		t.Errorf("Started carries a snapshot set: %+v", deliveries[0].Payload.Snapshot)
	}
	if ready.IdempotencyKey == failed.IdempotencyKey {
		t.Errorf("two sets' events share the idempotency key %s", ready.IdempotencyKey)
	}

	eventually(t, "two replies in the thread", func() bool {
		m := e.slack.Messages()
		return len(m) == 1 && len(m[0].Replies) == 2
	})
	replies := e.slack.Messages()[0].Replies
	for i, want := range []string{
		"*Snapshot set ready* `kv-scheduled-1` (Scheduled, 3 volume snapshots of `kv-r1`)",
		"*Snapshot set failed* `kv-mine` (OnDemand, 3 volume snapshots of `kv-r1`): VolumeSnapshot kv-mine-0: out of snapshot space",
	} {
		if !strings.Contains(replies[i].Text, want) {
			t.Errorf("reply %d = %q, want it to say %q", i, replies[i].Text, want)
		}
	}
}

func snapshotSet(name string, reason v1alpha1.SnapshotReason, phase v1alpha1.SnapshotPhase, message string) *v1alpha1.RolloutSnapshot {
	set := &v1alpha1.RolloutSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: name},
		Spec:       v1alpha1.RolloutSnapshotSpec{RolloutName: key.Name, Reason: reason},
		Status:     v1alpha1.RolloutSnapshotStatus{Phase: phase, Message: message, Revision: "kv-r1"},
	}
	for i := range 3 {
		set.Status.Volumes = append(set.Status.Volumes, v1alpha1.SnapshotVolume{Claim: fmt.Sprintf("data-kv-%d", i)})
	}
	return set
}
